"""The one port table: every firewall and Flink's own config read it (docs/architecture.md "Ports")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SWARM_MANAGEMENT = 2377
SWARM_GOSSIP = 7946
VXLAN = 4789
WEAVE = 6783  # tcp control; udp 6783 (sleeve) and 6784 (fast datapath)
JOBMANAGER_RPC = 6123
BLOB_SERVER = 6124
QUERY_SERVER = 6125
TASKMANAGER_DATA = 6126
TASKMANAGER_RPC = 6127
FLINK_UI = 8081
ZOOKEEPER_CLIENT = 2181  # only inside the Flink network (no host port, so no rule)
SSH = 22
FLINK_METRICS = 9249  # Flink's Prometheus reporter, on every Flink container: inside the network only (no rule)
PROMETHEUS = 9090
GRAFANA = 3000
NODE_EXPORTER = 9100  # on every node's host network: Prometheus scrapes each node's address
SQL_GATEWAY = 8083  # Flink's SQL gateway's REST endpoint (its default, SqlGatewayRestOptions.BIND_PORT)
SPARK_MASTER = 7077  # a Spark standalone master's RPC port (Spark's default) ...
SPARK_WORKER = 7078  # ... a worker's (Spark's is random: the program fixes it) ...
SPARK_UI = 8080  # ... and the master's web UI: it kills applications, unauthenticated, so no firewall opens it

CLUSTER = "cluster"  # every node's public IP /32 plus the private subnets
ADMIN = "admin"  # flink-swarm:adminCidrs
# No firewall admits it; the host firewall drops it from everyone but the node itself: reached through
# an SSH tunnel to the node's 127.0.0.1 (Flink's REST API runs any jar uploaded to it, unauthenticated).
LOOPBACK = "loopback"
# On an admin rule, marks world-sized adminCidrs as the user's choice (the policy pack then only warns).
WORLD_OPEN_ADMIN = "flink-swarm:worldOpenAdmin"


@dataclass(frozen=True)
class PortRule:
    """One inbound rule: open to its scope only. `ports` is empty for ESP (a protocol without ports)."""

    name: str  # stable: Azure rule names, GCP firewall names and priorities derive from it
    protocol: str  # tcp | udp | esp
    ports: tuple[str, ...]
    scope: str  # CLUSTER | ADMIN | LOOPBACK
    needs: str = ""  # "" always | "weave" | "encrypted-overlay" | "monitoring" | "grafana" | "sql-gateway" | "spark"


TABLE: tuple[PortRule, ...] = (
    PortRule("swarm-management", "tcp", (str(SWARM_MANAGEMENT),), CLUSTER),
    PortRule("swarm-gossip-tcp", "tcp", (str(SWARM_GOSSIP),), CLUSTER),
    PortRule("swarm-gossip-udp", "udp", (str(SWARM_GOSSIP),), CLUSTER),
    PortRule("overlay-vxlan", "udp", (str(VXLAN),), CLUSTER),
    PortRule("overlay-esp", "esp", (), CLUSTER, needs="encrypted-overlay"),
    PortRule("weave-tcp", "tcp", (str(WEAVE),), CLUSTER, needs="weave"),
    PortRule("weave-udp", "udp", (f"{WEAVE}-{WEAVE + 1}",), CLUSTER, needs="weave"),
    PortRule("flink-jobmanager", "tcp", (f"{JOBMANAGER_RPC}-{QUERY_SERVER}",), CLUSTER),
    PortRule("flink-taskmanager", "tcp", (f"{TASKMANAGER_DATA}-{TASKMANAGER_RPC}",), CLUSTER),
    PortRule("flink-ui", "tcp", (str(FLINK_UI),), LOOPBACK),
    PortRule("ssh", "tcp", (str(SSH),), ADMIN),
    # after the rules above, so their indices (Azure priorities, GCP names) stay as they were
    PortRule("node-exporter", "tcp", (str(NODE_EXPORTER),), CLUSTER, needs="monitoring"),
    PortRule("prometheus", "tcp", (str(PROMETHEUS),), ADMIN, needs="monitoring"),
    PortRule("grafana", "tcp", (str(GRAFANA),), ADMIN, needs="grafana"),
    PortRule("flink-sql-gateway", "tcp", (str(SQL_GATEWAY),), LOOPBACK, needs="sql-gateway"),
    PortRule("spark-master", "tcp", (str(SPARK_MASTER),), CLUSTER, needs="spark"),
    PortRule("spark-worker", "tcp", (str(SPARK_WORKER),), CLUSTER, needs="spark"),
    PortRule("spark-ui", "tcp", (str(SPARK_UI),), LOOPBACK, needs="spark"),
)


class Network(Protocol):
    """What the table needs of the container network's settings (config.NetworkSpec)."""

    driver: str
    encrypted: bool


class Switch(Protocol):
    """A part of the cluster that needs its own rules when on (config.MonitoringSpec, SparkSpec)."""

    enabled: bool


class Monitoring(Switch, Protocol):
    grafana: bool


class Flink(Protocol):
    sql_gateway: bool


class Stack(Protocol):
    """What the table needs of the settings (config.Settings): the network, and what runs on it."""

    network: Network
    flink: Flink
    monitoring: Monitoring
    spark: Switch


def rules_for(stack: Stack) -> list[tuple[int, PortRule]]:
    """The rules this stack needs, each with its index in TABLE (stable priorities)."""
    network, monitoring = stack.network, stack.monitoring
    active = {"", network.driver}
    if network.driver == "overlay" and network.encrypted:
        active.add("encrypted-overlay")
    if monitoring.enabled:
        active.update({"monitoring", "grafana"} if monitoring.grafana else {"monitoring"})
    if stack.flink.sql_gateway:
        active.add("sql-gateway")
    if stack.spark.enabled:
        active.add("spark")
    return [(i, rule) for i, rule in enumerate(TABLE) if rule.needs in active]


def cloud_rules_for(stack: Stack) -> list[tuple[int, PortRule]]:
    """The rules a cloud firewall opens (an allow rule each): no LOOPBACK one, which no firewall opens."""
    return [(i, rule) for i, rule in rules_for(stack) if rule.scope != LOOPBACK]


def describe(rule: PortRule, world_open_admin: bool) -> str:
    """The description of a rule's firewall entry; admin rules carry the opt-in to world-open access."""
    text = f"flink-swarm {rule.name}: open to the {'cluster' if rule.scope == CLUSTER else 'adminCidrs'}"
    return f"{text}, world-open by {WORLD_OPEN_ADMIN}" if rule.scope == ADMIN and world_open_admin else text
