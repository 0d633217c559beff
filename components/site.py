"""What every cloud gives the nodes layer: the interface a cloud's machines implement.

A cloud (`azure.py`, `gcp.py`, `local.py`; another one follows the same template) is a
ComponentResource that reserves each node's public address when it is built, then, once every
node's address is known (the firewalls admit all of them), creates the machines, each with the SSH
host key the program made for it: a VM boots with it in its cloud-init user data (`boot.first_boot`,
with the head start on Docker and the images), which it ignores later changes of (the clouds read it
at first boot only); a local node's container has it uploaded.

    site = MyCloudNodes("mycloud", settings, opts)                  # addresses: site.public_ips
    machines = site.machines(cluster_sources, public_key, host_keys)  # node name -> Machine
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence

import pulumi
import pulumi_tls as tls


@dataclass(frozen=True)
class Machine:
    """One node's machine as the layers above see it."""

    private_ip: pulumi.Output[str]
    booted: Sequence[pulumi.Resource]  # must exist before SSH works (the VM, its firewall)
    identity: pulumi.Output[str]  # new whenever the machine is (a replaced VM is a blank host)
    # node port -> (host, port) where the deployer reaches it, when not at the public address (local
    # nodes publish SSH and the Flink UI on 127.0.0.1)
    published: Mapping[int, tuple[str, int]] = field(default_factory=dict)


class Site(Protocol):
    """One cloud's share of the topology."""

    private_range: str  # the cloud's node subnet: a source of the cluster rules
    public_ips: Mapping[str, pulumi.Output[str]]  # node name -> static public address

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str],
                 host_keys: Mapping[str, tls.PrivateKey]) -> dict[str, Machine]:
        """The firewall and one machine per node of this cloud, with the host key `host_keys[node]`."""
        ...

