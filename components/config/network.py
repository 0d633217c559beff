"""The containers' network: the driver, its subnet and MTUs, and the subnet's room among the nodes'."""
from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from .checks import boolean, choice, container_subnet, fail, image, mapping, positive_int
from .topology import AZURE, GCP, LOCAL, STATIC, NodeSpec
from .types import OWN, AzureSpec, GcpSpec, LocalSpec, NetworkSpec
from .yamlfile import deep_merge

DRIVERS = ("weave", "overlay")
MTU_RANGE = (1280, 9000)  # IPv6's minimum to jumbo frames
WEAVE_OVERHEAD = 84  # VXLAN 50 + ESP 34 (weaveworks/weave net/bridge.go:381-388)
# weaveMtu: the containers' MTU, so network.mtu's range less Weave's overhead; the one rule for both (a
# weaveMtu below the smallest hosts' MTU less the overhead only fragments more, it fits no smaller link).
WEAVE_MTU_MIN = MTU_RANGE[0] - WEAVE_OVERHEAD


def read(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> NetworkSpec:
    keys = {"driver", "subnet", "encrypted", "weavePlugin", "weaveMtu", "mtu"}
    net = deep_merge(defaults["network"], mapping(f"{OWN}network", cfg.get("network"), keys))
    mtu = positive_int(f"{OWN}network.mtu", net["mtu"], *MTU_RANGE,
                       "your hosts' network MTU: 1460 on Google Cloud, 1500 on Azure")
    weave_mtu = positive_int(f"{OWN}network.weaveMtu", net.get("weaveMtu", mtu - WEAVE_OVERHEAD), WEAVE_MTU_MIN,
                             why=f"network.mtu's minimum {MTU_RANGE[0]} less Weave's {WEAVE_OVERHEAD} bytes")
    if weave_mtu > mtu - WEAVE_OVERHEAD:
        fail(f"{OWN}network.weaveMtu", weave_mtu, f"more than network.mtu {mtu} less Weave's "
             f"{WEAVE_OVERHEAD} bytes of encapsulation (full-size packets would be dropped)",
             f"unset it (it follows network.mtu) or use at most {mtu - WEAVE_OVERHEAD}")
    return NetworkSpec(
        driver=choice(f"{OWN}network.driver", net["driver"], DRIVERS),
        subnet=container_subnet(f"{OWN}network.subnet", net["subnet"]),
        encrypted=boolean(f"{OWN}network.encrypted", net["encrypted"]),
        weave_plugin=image(f"{OWN}network.weavePlugin", net["weavePlugin"]),
        weave_mtu=weave_mtu,
        mtu=mtu,
    )


def check_subnets(network: NetworkSpec, nodes: tuple[NodeSpec, ...], azure: AzureSpec, gcp: GcpSpec,
                   local: LocalSpec) -> None:
    """The containers' subnet overlaps no network or address of the nodes."""
    subnet = ipaddress.ip_network(network.subnet)
    clouds = {node.cloud for node in nodes}
    used = [(f"{cloud}.{key} in config/defaults.yaml", net) for cloud, key, net in (
        (AZURE, "addressSpace", azure.address_space), (GCP, "subnet", gcp.subnet),
        (LOCAL, "subnet", local.subnet)) if cloud in clouds]
    used += [(f"node {node.name!r}'s {key}", f"{address}/32") for node in nodes if node.cloud == STATIC
             for key, address in (("publicIp", node.public_ip), ("privateIp", node.private_ip))]
    for where, net in used:
        if subnet.overlaps(ipaddress.ip_network(net)):
            fail(f"{OWN}network.subnet", network.subnet, f"overlaps {where} ({net}): those addresses would "
                 "be routed to containers", "choose a range no node's network uses, e.g. 172.30.0.0/16")
