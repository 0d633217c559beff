"""flink-swarm: config -> nodes -> swarm -> Flink. Read config, build the components, export."""
import gc

# Before the imports: the providers' SDKs (azure-native's above all) and the program make hundreds
# of thousands of objects that live to the end; at CPython's default (a collection every 700
# allocations) the cyclic collector took about a quarter of a 200-node evaluation rescanning them
# (bench/FINDINGS.md "The program's evaluation").
gc.set_threshold(50_000, 20, 100)

import pulumi  # noqa: E402

from components import config  # noqa: E402
from components.flink import FlinkCluster  # noqa: E402
from components.nodes import Nodes  # noqa: E402
from components.sshkey import SshKey  # noqa: E402
from components.state import StateBucket  # noqa: E402
from components.steps import destroy_guard  # noqa: E402
from components.swarm import SwarmCluster  # noqa: E402

settings = config.load()
key = SshKey("ssh-key", settings)
nodes = Nodes("nodes", settings, key)
swarm = SwarmCluster("swarm", nodes.nodes, settings, nodes.cluster_sources)
ssh_options = key.ssh_options(key.known_hosts(nodes.known_hosts()))
bucket = StateBucket("flink-state", settings) if settings.flink.state != "node" else None
flink = FlinkCluster("flink", swarm, nodes.nodes, ssh_options, settings, bucket)
destroy_guard(key, [flink])  # a destroy that lacks the files the docker provider needs stops first, saying why

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
