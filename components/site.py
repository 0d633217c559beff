"""What every cloud gives the nodes layer: the interface a cloud's machines implement.

A cloud (`azure.py`, `gcp.py`; a third one follows the same template) is a ComponentResource that
reserves each node's public address when it is built, then, once every node's address is known
(the firewalls admit all of them), creates the machines:

    site = MyCloudNodes("mycloud", settings, opts)       # addresses: site.public_ips
    machines = site.machines(cluster_sources, public_key)  # node name -> Machine
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import pulumi


@dataclass(frozen=True)
class Machine:
    """One node's machine as the layers above see it."""

    private_ip: pulumi.Output[str]
    booted: Sequence[pulumi.Resource]  # must exist before SSH works (the VM, its firewall)
    identity: pulumi.Output[str]  # new whenever the machine is (a replaced VM is a blank host)


class Site(Protocol):
    """One cloud's share of the topology."""

    private_range: str  # the cloud's node subnet: a source of the cluster rules
    public_ips: Mapping[str, pulumi.Output[str]]  # node name -> static public address

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str]
                 ) -> dict[str, Machine]:
        """The firewall and one machine per node of this cloud."""
        ...
