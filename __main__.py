"""flink-swarm: config -> nodes -> swarm -> Flink. Read config, build the components, export."""
import pulumi

from components import config
from components.flink import FlinkCluster
from components.nodes import Nodes
from components.sshkey import SshKey
from components.state import StateBucket
from components.swarm import SwarmCluster

settings = config.load()
key = SshKey("ssh-key", settings)
nodes = Nodes("nodes", settings, key)
swarm = SwarmCluster("swarm", nodes.nodes, settings, nodes.cluster_sources)
ssh_options = key.ssh_options(key.known_hosts(nodes.known_hosts()))
bucket = StateBucket("flink-state", settings) if settings.flink.state != "node" else None
flink = FlinkCluster("flink", swarm, nodes.nodes, ssh_options, settings, bucket)

pulumi.export("nodes", nodes.table())
pulumi.export("sshCommands", {
    n.name: pulumi.Output.format("ssh {0} -p {1} {2}@{3}", ssh_options.apply(" ".join), n.connection.port,
                                 n.connection.user, n.connection.host)
    for n in nodes.nodes})
pulumi.export("sshPublicKey", key.public_key)
pulumi.export("sshPrivateKey", key.private_key)
pulumi.export("managerAddress", swarm.manager_address)
pulumi.export("dockerHost", swarm.docker_host)
pulumi.export("flinkUiUrl", flink.ui_url)
pulumi.export("jobmanagerAddress", flink.jobmanager_address)
pulumi.export("flinkState", flink.state_location)
pulumi.export("submitJob", pulumi.Output.format(
    "curl -s -X POST -F jarfile=@<your-job.jar> {0}/jars/upload", flink.ui_url))
