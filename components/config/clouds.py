"""The clouds' settings (Azure, Google Cloud, local containers) and what each cloud holds."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping, Optional

from ..ports import ADMIN, CLUSTER, rules_for
from .checks import container_subnet, fail, image, mapping, positive_int
from .topology import AZURE, GCP, LOCAL, STATIC, NodeSpec
from .types import FIRST_LOCAL_HOST, OWN, AzureSpec, GcpSpec, LocalSpec
from .yamlfile import deep_merge

AZURE_NSG_SOURCES = 4000  # Azure: addresses and ranges in one network security group's rules
AZURE_PUBLIC_IPS = 10  # Azure: default quota of Standard public IPs per region and subscription (docs/configuration.md "Quotas to check before a large first `up`")
RESERVED_ADDRESSES = {AZURE: 5, GCP: 4}  # per subnet
# Memory (MiB) by machine size, for the memory budget (config/spark.py): the clouds' size tables as a
# rule per family (Azure "Sizes for virtual machines", GCP "Machine families resource guide"); a size no
# rule covers (Azure's v2 D and E sizes among them) is not known.
AZURE_SIZE = re.compile(r"Standard_([A-Z]+)([0-9]+)([a-z]*)_v([0-9]+)", re.IGNORECASE)
AZURE_GIB_PER_VCPU = {"D": (4, 3), "DL": (2, 5), "E": (8, 3), "F": (2, 2)}  # family: (GiB a vCPU, from version)
AZURE_B_SERIES_GIB = {"B1s": 1, "B1ms": 2, "B2s": 4, "B2ms": 8, "B4ms": 16, "B8ms": 32, "B12ms": 48, "B16ms": 64}
GCP_SIZE = re.compile(r"(e2|n1|n2|n2d|n4|c2|c2d|c3|c3d|t2d)-(standard|highmem|highcpu)-([0-9]+)")
GCP_GB_PER_VCPU = {"standard": 4, "highmem": 8, "highcpu": 1}
GCP_N1_GB_PER_VCPU = {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9}
GCP_SHARED_GB = {"e2-micro": 1, "e2-small": 2, "e2-medium": 4}
DOCKER_HOSTS = ("unix://", "npipe://", "tcp://", "ssh://")  # what a docker provider's `host` takes
LOCAL_PORTS = (1024, 65535)  # local.sshPort and SINGLE_PORTS: unprivileged, on 127.0.0.1
SINGLE_PORTS = ("uiPort", "prometheusPort", "grafanaPort", "sqlGatewayPort", "sparkUiPort")  # one port each (sshPort: one a node)
HOST_PORTS = {2375: "the Docker Engine's API", 2376: "the Docker Engine's TLS API", 2377: "swarm management",
              7946: "swarm gossip"}  # what this machine's own Docker may listen on


def azure(defaults: Mapping[str, Any], providers: Mapping[str, Optional[str]],
           nodes: tuple[NodeSpec, ...]) -> AzureSpec:
    given = defaults["azure"]
    azure = AzureSpec(providers.get("azure-native:location"), given["size"], given["diskGb"],
                      given["addressSpace"], given["subnet"], given["image"])
    if any(node.cloud == AZURE for node in nodes) and not azure.location:
        fail("azure-native:location", None, "the topology has Azure nodes but no Azure region is set",
             "`pulumi config set azure-native:location westeurope`")
    return azure


def gcp(defaults: Mapping[str, Any], providers: Mapping[str, Optional[str]], nodes: tuple[NodeSpec, ...]) -> GcpSpec:
    """The project and zone are required with GCP nodes; the region follows the zone."""
    given = defaults["gcp"]
    project, zone, region = (providers.get(f"gcp:{key}") for key in ("project", "zone", "region"))
    if any(node.cloud == GCP for node in nodes):
        for key, value, example in (("project", project, "my-project-id"), ("zone", zone, "europe-west1-b")):
            if not value:
                fail(f"gcp:{key}", None, "the topology has Google Cloud nodes but no "
                     f"gcp:{key} is set", f"`pulumi config set gcp:{key} {example}`")
        zone_region = zone.rsplit("-", 1)[0]
        if region and region != zone_region:
            fail("gcp:zone", zone, f"not in gcp:region {region!r}",
                 f"use a zone of {region} or set gcp:region {zone_region}")
        region = zone_region
    elif zone and not region:  # no nodes there, but a state bucket may be
        region = zone.rsplit("-", 1)[0]
    return GcpSpec(project, region, zone, given["size"], given["diskGb"], given["subnet"], given["image"])


def local(cfg: Mapping[str, Any], defaults: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> LocalSpec:
    """`local:` settings; local nodes are containers of this machine, which no other cloud's node reaches."""
    field = f"{OWN}local"
    loc = deep_merge(defaults["local"], mapping(field, cfg.get("local"), {*defaults["local"], "dockerHost"}))
    count = sum(node.cloud == LOCAL for node in nodes)
    others = sorted({node.cloud for node in nodes} - {LOCAL})
    if count and others:
        fail(f"{OWN}topology", others, "local nodes are containers on this machine's Docker Engine, which "
             f"{' and '.join(others)} nodes cannot reach", "use a topology of local nodes only, e.g. "
             "config/topologies/local.yaml, or none")
    subnet = container_subnet(f"{field}.subnet", loc["subnet"])
    room = ipaddress.ip_network(subnet).num_addresses - FIRST_LOCAL_HOST - 1  # and the broadcast address
    if count > room:
        fail(f"{field}.subnet", subnet, f"holds {max(room, 0)} local nodes from its {FIRST_LOCAL_HOST}th address, "
             f"not {count}", "use a larger private range, e.g. 10.213.0.0/24 (the default)")
    ssh_port, single = _local_ports(loc, count)
    host = loc.get("dockerHost")
    if host is not None and (not isinstance(host, str) or not host.startswith(DOCKER_HOSTS)):
        fail(f"{field}.dockerHost", host, "not a Docker Engine address",
             "write it as DOCKER_HOST takes it, e.g. unix:///var/run/docker.sock, or unset it")
    return LocalSpec(image(f"{field}.baseImage", loc["baseImage"]), subnet, ssh_port, *single, docker_host=host)


def _local_ports(loc: Mapping[str, Any], count: int) -> tuple[int, tuple[int, ...]]:
    """The first node's SSH port and the single ports (SINGLE_PORTS): unprivileged, apart, none of this
    machine's Docker's."""
    field = f"{OWN}local"
    ssh_port, *single = (positive_int(f"{field}.{key}", loc[key], *LOCAL_PORTS, "an unprivileged port")
                         for key in ("sshPort", *SINGLE_PORTS))
    last = ssh_port + max(count, 1) - 1
    if last > LOCAL_PORTS[1]:
        fail(f"{field}.sshPort", ssh_port, f"the {count} nodes' SSH ports run past {LOCAL_PORTS[1]}",
             f"use a port of at most {LOCAL_PORTS[1] - count + 1}, e.g. 2222 (the default)")
    for index, (key, port) in enumerate(zip(SINGLE_PORTS, single)):
        if ssh_port <= port <= last:
            fail(f"{field}.{key}", port, f"one of the nodes' SSH ports ({ssh_port}-{last})",
                 "choose a port outside that range, e.g. the default (config/defaults.yaml)")
        if port in single[:index]:
            fail(f"{field}.{key}", port, f"also {SINGLE_PORTS[single.index(port)]}", "give each its own port")
    for port, use in HOST_PORTS.items():
        if ssh_port <= port <= last or port in single:
            key, given = (SINGLE_PORTS[single.index(port)], port) if port in single else ("sshPort", ssh_port)
            fail(f"{field}.{key}", given, f"takes port {port}, {use} on this machine",
                 "choose ports clear of 2375-2377 and 7946, e.g. sshPort 2222 and uiPort 8081 (the defaults)")
    return ssh_port, tuple(single)


def check_capacity(settings: Settings) -> None:
    """No more nodes than a cloud's subnet holds, nor sources than Azure's NSG takes."""
    nodes, admin_cidrs, azure, gcp = settings.nodes, settings.admin_cidrs, settings.azure, settings.gcp
    for cloud, subnet in ((AZURE, azure.subnet), (GCP, gcp.subnet)):
        count = sum(node.cloud == cloud for node in nodes)
        room = ipaddress.ip_network(subnet).num_addresses - RESERVED_ADDRESSES[cloud]
        if count > room:
            fail(f"{OWN}topology", count, f"more {cloud} nodes than the {cloud} subnet {subnet} "
                 f"holds ({room})", f"use fewer nodes or a larger `{cloud}.subnet` in config/defaults.yaml")
    if any(node.cloud == AZURE for node in nodes):
        # cluster rules list every node's /32 and each cloud's private subnet; admin rules the adminCidrs
        rules = [rule.scope for _, rule in rules_for(settings)]
        subnets = len({node.cloud for node in nodes} - {STATIC})
        admin = rules.count(ADMIN) * len(admin_cidrs)
        sources = rules.count(CLUSTER) * (len(nodes) + subnets) + admin
        if sources > AZURE_NSG_SOURCES:
            most = (AZURE_NSG_SOURCES - admin) // rules.count(CLUSTER) - subnets
            fail(f"{OWN}topology", len(nodes), f"Azure's network security group would list {sources} source "
                 f"addresses, over its limit of {AZURE_NSG_SOURCES}",
                 f"use at most {most} nodes with this network driver and these adminCidrs")


def quota_warnings(nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    azure = sum(node.cloud == AZURE for node in nodes)
    if azure <= AZURE_PUBLIC_IPS:
        return ()
    return (f"{azure} Azure nodes need {azure} Standard public IPs in one region; the default quota is "
            f"{AZURE_PUBLIC_IPS} per region (1000 on Enterprise Agreements). Check yours with "
            "`az network list-usages --location <region>` and ask for more before `pulumi up`.",)


def machine_size(node: NodeSpec, settings: Any) -> Optional[str]:
    """A cloud node's machine size: its own, or its cloud's default (`settings`); None elsewhere."""
    return node.size or {AZURE: settings.azure.size, GCP: settings.gcp.size}.get(node.cloud)


def machine_memory_mb(cloud: str, size: str) -> Optional[int]:
    """A cloud machine size's memory in MiB; None for a size the rules above do not know."""
    if cloud == AZURE:
        if size.removeprefix("Standard_") in AZURE_B_SERIES_GIB:
            return AZURE_B_SERIES_GIB[size.removeprefix("Standard_")] * 1024
        match = AZURE_SIZE.fullmatch(size)
        family = match and match[1].upper() + ("L" if "l" in match[3].lower() else "")
        if family in AZURE_GIB_PER_VCPU and int(match[4]) >= AZURE_GIB_PER_VCPU[family][1]:
            return int(match[2]) * AZURE_GIB_PER_VCPU[family][0] * 1024
    elif cloud == GCP:
        match = GCP_SIZE.fullmatch(size)
        if match:
            per_vcpu = (GCP_N1_GB_PER_VCPU if match[1] == "n1" else GCP_GB_PER_VCPU)[match[2]]
            return int(int(match[3]) * per_vcpu * 1024)
        return GCP_SHARED_GB[size] * 1024 if size in GCP_SHARED_GB else None
    return None
