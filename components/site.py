"""What every cloud gives the nodes layer: the interface a cloud's machines implement.

A cloud (`azure.py`, `gcp.py`; a third one follows the same template) is a ComponentResource that
reserves each node's public address when it is built, then, once every node's address is known
(the firewalls admit all of them), creates the machines, each booting with its cloud-init user data
(`boot.first_boot`: the SSH host key the program made for it, and the head start on Docker and the
images). A machine ignores later changes of its user data: the clouds read it at first boot only.

    site = MyCloudNodes("mycloud", settings, opts)                  # addresses: site.public_ips
    machines = site.machines(cluster_sources, public_key, user_data)  # node name -> Machine
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

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str],
                 user_data: Mapping[str, pulumi.Output[str]]) -> dict[str, Machine]:
        """The firewall and one machine per node of this cloud, booting with `user_data[node]`."""
        ...

