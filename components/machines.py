"""What every cloud gives the nodes layer (`Machine`, `Site`: the interface a cloud's machines
implement), and what the nodes layer gives the layers above (`Node`).

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
from typing import Mapping, Optional, Protocol, Sequence

import pulumi
import pulumi_tls as tls
from pulumi_command import remote

from .config import NodeSpec


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


@dataclass(frozen=True)
class Node:
    """What every layer above the machines sees of one node."""

    spec: NodeSpec
    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    connection: remote.ConnectionArgs
    booted: Sequence[pulumi.Resource] = field(default_factory=tuple)  # must exist before SSH works
    identity: pulumi.Input[str] = ""  # new whenever the machine is: its steps then run again
    host_key: pulumi.Input[str] = ""  # its SSH host key (public): every connection checks it
    published: Mapping[int, tuple[str, int]] = field(default_factory=dict)  # see Machine

    def reach(self, port: int) -> Optional[tuple[str, int]]:
        """Where the deployer reaches the node's `port` directly (not SSH: see `connection`): where a local
        node publishes it on this machine's loopback; elsewhere None (only through SSH: no firewall admits it)."""
        return self.published.get(port)

    def url(self, port: int) -> Optional[pulumi.Output[str]]:
        """`http://` where the deployer reaches the node's `port` directly (`reach`), or None."""
        where = self.reach(port)
        return pulumi.Output.concat("http://", where[0], ":", str(where[1])) if where else None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def cloud(self) -> str:
        return self.spec.cloud

    @property
    def labels(self) -> Mapping[str, str]:
        return {**self.spec.labels, "role": self.role, "cloud": self.cloud, "name": self.name}
