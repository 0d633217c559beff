"""The validated settings: what `parse()` returns and every component reads."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from .topology import NodeSpec

PROJECT = "flink-swarm"
OWN = f"{PROJECT}:"  # the prefix of the stack's own settings
ROOT = Path(__file__).resolve().parents[2]  # the Pulumi project: topology paths are relative to it
FIRST_LOCAL_HOST = 11  # local nodes' addresses start at the subnet's 11th (Docker's gateway takes the 1st)


@dataclass(frozen=True)
class NetworkSpec:
    driver: str
    subnet: str
    encrypted: bool
    weave_plugin: str
    weave_mtu: int  # the containers' MTU on Weave
    mtu: int = 1460  # the hosts' network MTU (Docker's overlay subtracts its own overhead)

    @property
    def weave_driver(self) -> str:
        """The plugin's name on the nodes, the Weave network's driver: weave_plugin without a digest."""
        return self.weave_plugin.partition("@")[0]


@dataclass(frozen=True)
class FlinkSpec:
    image: str
    task_slots: int
    taskmanager_memory: str
    jobmanager_memory: str
    parallelism: int
    settings: Mapping[str, str]  # Flink options for both services: flink.settings, and the reporter monitoring adds
    sql_gateway: bool = True  # Flink's SQL gateway runs beside the jobmanager (docs/jobs.md "SQL")
    python: bool = False  # the Flink nodes run the image with Python and PyFlink added (docs/jobs.md "Python jobs")
    state: str = "node"  # where checkpoints, savepoints and HA metadata live: node, gcs or azure (docs/jobs.md "Durable state")


@dataclass(frozen=True)
class AzureSpec:
    """defaults.yaml `azure:` plus the region."""

    location: Optional[str]
    size: str
    disk_gb: int
    address_space: str
    subnet: str
    image: Mapping[str, str]  # publisher, offer, sku, version


@dataclass(frozen=True)
class GcpSpec:
    """defaults.yaml `gcp:` plus project, region and zone."""

    project: Optional[str]
    region: Optional[str]
    zone: Optional[str]
    size: str
    disk_gb: int
    subnet: str
    image: str


@dataclass(frozen=True)
class LocalSpec:
    """defaults.yaml `local:`: how `cloud: local` nodes are made on your own Docker Engine."""

    base_image: str  # what components/local-host/Dockerfile builds the node image on
    subnet: str  # the Docker network the program makes: nodes at its 11th address on, in topology order
    ssh_port: int  # 127.0.0.1:<ssh_port + k> reaches the k-th local node's sshd (k from 0)
    ui_port: int  # 127.0.0.1:<ui_port> reaches the Flink UI on the jobmanager node
    prometheus_port: int  # 127.0.0.1:<prometheus_port> reaches Prometheus on the control manager (monitoring)
    grafana_port: int  # ... and 127.0.0.1:<grafana_port> Grafana
    sql_gateway_port: int  # 127.0.0.1:<sql_gateway_port> reaches Flink's SQL gateway on the jobmanager node ...
    spark_ui_port: int  # ... and 127.0.0.1:<spark_ui_port> Spark's master UI (spark)
    docker_host: Optional[str] = None  # the Engine the nodes run on; None: DOCKER_HOST or the default socket

    @property
    def gateway(self) -> str:
        """The network's gateway (this machine on it): the subnet's first address, as Docker picks it."""
        return str(ipaddress.ip_network(self.subnet)[1])

    def address(self, index: int) -> str:
        """The fixed address of the index-th local node on the program's network."""
        return str(ipaddress.ip_network(self.subnet)[FIRST_LOCAL_HOST + index])


@dataclass(frozen=True)
class MonitoringSpec:
    """flink-swarm:monitoring: Prometheus, node exporters and Grafana (components/monitoring.py)."""

    enabled: bool
    grafana: bool  # with Prometheus only when enabled
    prometheus_image: str
    node_exporter_image: str
    grafana_image: str
    scrape_interval: str  # a Prometheus duration, e.g. 15s
    retention: str  # e.g. 15d


@dataclass(frozen=True)
class SparkSpec:
    """flink-swarm:spark: a Spark standalone master beside the jobmanager, a worker on every worker node."""

    enabled: bool
    image: str
    worker_cores: int  # what each worker offers its executors
    worker_memory_mb: int
    settings: Mapping[str, str]  # spark-defaults options, for the master, the workers and submitted applications


@dataclass(frozen=True)
class SshSpec:
    """How long a remote command keeps dialling a host that does not answer."""

    dial_attempts: int
    dial_timeout: int  # seconds, each dial


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, validated."""

    stack: str
    name_prefix: str
    nodes: tuple[NodeSpec, ...]
    admin_cidrs: tuple[str, ...]
    ssh_user: str
    ssh_public_key: Optional[str]  # None: a key pair is generated
    ssh_private_key: Any  # secret Output[str] (a str in tests), or None (generated, or in the ssh-agent)
    weave_password: Any  # secret Output[str], or None: one is generated
    docker_install: str
    docker_version: str  # docker-ce: the exact version installed and held; "" for docker.io
    network: NetworkSpec
    flink: FlinkSpec
    azure: AzureSpec
    gcp: GcpSpec
    ssh: SshSpec
    monitoring: MonitoringSpec
    spark: SparkSpec
    warnings: tuple[str, ...] = ()  # shown by `pulumi preview` and `up`, refusing nothing
    ssh_agent: bool = False  # only sshPublicKey given: connect with the deployer's ssh-agent's keys
    world_open_admin: bool = False  # flink-swarm:worldOpenAdmin: the stack opts in to world-open adminCidrs
    control_manager: str = ""  # the manager the program runs the swarm's control steps through
    local: Optional[LocalSpec] = None  # how `cloud: local` nodes are made

    def of_cloud(self, cloud: str) -> list[NodeSpec]:
        return [node for node in self.nodes if node.cloud == cloud]

    def of_role(self, role: str) -> list[NodeSpec]:
        return [node for node in self.nodes if node.role == role]
