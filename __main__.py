"""flink-swarm: config -> nodes -> swarm -> Flink. Read config, build the components, export."""
import gc

# Before the imports: the providers' SDKs (azure-native's above all) and the program make hundreds
# of thousands of objects that live to the end; at CPython's default (a collection every 700
# allocations) the cyclic collector took about a quarter of a 200-node evaluation rescanning them
# (bench/FINDINGS.md "The program's evaluation").
gc.set_threshold(50_000, 20, 100)

import pulumi  # noqa: E402

from components import config, ports  # noqa: E402
from components.flink import FlinkCluster  # noqa: E402
from components.monitoring import Monitoring  # noqa: E402
from components.nodes import Nodes  # noqa: E402
from components.spark import SparkCluster  # noqa: E402
from components.sshkey import KEY_DIR_DEFAULT, SshKey  # noqa: E402
from components.state import StateBucket  # noqa: E402
from components.steps import destroy_guard  # noqa: E402
from components.swarm import SwarmCluster  # noqa: E402

settings = config.load()
key = SshKey("ssh-key", settings)
nodes = Nodes("nodes", settings, key)
swarm = SwarmCluster("swarm", nodes.nodes, settings, nodes.cluster_sources)
ssh_options = key.ssh_options(key.known_hosts(nodes.known_hosts()))  # the docker provider's
bucket = StateBucket("flink-state", settings) if settings.flink.state != "node" else None
flink = FlinkCluster("flink", swarm, nodes.nodes, ssh_options, settings, bucket)
monitoring = Monitoring("monitoring", swarm, flink, nodes.nodes, settings) if settings.monitoring.enabled else None
spark = SparkCluster("spark", swarm, flink, nodes.nodes, settings) if settings.spark.enabled else None
destroy_guard(key, [flink, *([monitoring] if monitoring else []), *([spark] if spark else [])])  # a destroy that lacks the files the docker provider needs stops first, saying why

pulumi.export("nodes", nodes.table())
# Where each node's SSH answers, as data (the job CLI builds its ssh command lines from it), and the
# stack whose key files the deployer's machine has: flink-swarm-<stack> (none in ssh-agent mode) and
# flink-swarm-<stack>.known_hosts, in $FLINK_SWARM_KEY_DIR or ~/.ssh/flink-swarm (components/sshkey.py).
pulumi.export("ssh", {n.name: {"host": n.connection.host, "port": n.connection.port, "user": n.connection.user}
                      for n in nodes.nodes})
pulumi.export("sshIdentity", {"stack": settings.stack, "agent": key.private_key is None})
files = f"~/{KEY_DIR_DEFAULT}/{config.PROJECT}-{settings.stack}"  # no path of this machine: ssh expands ~
identity = "" if key.private_key is None else f"-i {files} -o IdentitiesOnly=yes "
pulumi.export("sshCommands", {
    n.name: pulumi.Output.format("ssh {0}-o UserKnownHostsFile={1}.known_hosts -o StrictHostKeyChecking=yes "
                                 "-p {2} {3}@{4}", identity, files, n.connection.port, n.connection.user,
                                 n.connection.host)
    for n in nodes.nodes})
pulumi.export("sshPublicKey", key.public_key)
pulumi.export("sshPrivateKey", key.private_key)
pulumi.export("managerAddress", swarm.manager_address)
pulumi.export("dockerHost", swarm.docker_host)
# Flink's UI and REST API (no authentication: it runs any jar uploaded to it) answer on the jobmanager
# node's 127.0.0.1 only, reached through an SSH tunnel (`flink-swarm ui`); a local stack's on this
# machine's loopback (local.uiPort).
pulumi.export("flinkRest", {"node": flink.jobmanager_node.name, "port": ports.FLINK_UI, "url": flink.ui_url})
pulumi.export("flinkUi", flink.ui_url or f"flink-swarm ui --stack {settings.stack}")
# Flink's SQL gateway (`flink-swarm sql`), and Spark's master (`flink-swarm spark`): on the jobmanager
# node's loopback as Flink's REST API, or null when off.
pulumi.export("flinkSqlGateway", {"node": flink.jobmanager_node.name, "port": ports.SQL_GATEWAY,
                                  "url": flink.sql_gateway_url} if flink.sql_gateway else None)
pulumi.export("spark", spark.access if spark else None)
pulumi.export("jobmanagerAddress", flink.jobmanager_address)
pulumi.export("flinkState", flink.state_location)
# Prometheus and Grafana on the control manager, open to adminCidrs (docs/monitoring.md); Grafana's
# `admin` password: `pulumi stack output --show-secrets grafanaAdminPassword`.
pulumi.export("monitoring", monitoring.urls if monitoring else None)
pulumi.export("grafanaAdminPassword", monitoring.admin_password if monitoring else None)
