"""The machines: one interface per node, whatever the cloud, and the cluster firewall on both clouds."""
from __future__ import annotations

import pulumi
import pulumi_tls as tls
from pulumi_command import remote

from . import ports
from .azure import AzureNodes
from .config import NodeSpec, Settings
from .config.topology import AZURE, GCP, LOCAL, STATIC
from .gcp import GcpNodes
from .local import LocalNodes
from .machines import Machine, Node, Site
from .sshkey import SshKey


class Nodes(pulumi.ComponentResource):
    """All nodes of the topology, in topology order, with the firewall built from the port table.

    Addresses come first (static IPs on both clouds, fixed ones for local nodes), then each cloud's
    firewall admits every node's public IP, then the machines, each with an ed25519 host key made
    here. Static nodes add no resources: their host key comes from the topology.
    """

    def __init__(self, name: str, settings: Settings, key: SshKey, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:index:Nodes", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        sites: list[Site] = []
        if settings.of_cloud(AZURE):
            sites.append(AzureNodes(AZURE, settings, child))
        if settings.of_cloud(GCP):
            sites.append(GcpNodes(GCP, settings, child))
        if settings.of_cloud(LOCAL):
            sites.append(LocalNodes(LOCAL, settings, child))

        public_ips: dict[str, pulumi.Input[str]] = {}
        for site in sites:
            public_ips.update(site.public_ips)
        for spec in settings.of_cloud(STATIC):
            public_ips[spec.name] = spec.public_ip
        private_ranges = [site.private_range for site in sites]
        self.cluster_sources: pulumi.Output[list[str]] = pulumi.Output.all(*public_ips.values()).apply(
            lambda ips: sorted({f"{ip}/32" for ip in ips}) + private_ranges)

        # Each machine starts with a host key made here, so the first connection already checks it.
        host_keys = {spec.name: tls.PrivateKey(f"{spec.name}-host-key", algorithm="ED25519", opts=child)
                     for spec in settings.nodes if spec.cloud != STATIC}
        machines: dict[str, Machine] = {}
        for site in sites:
            machines.update(site.machines(self.cluster_sources, key.public_key, host_keys))
        for spec in settings.of_cloud(STATIC):  # a host you own is the host at its address
            machines[spec.name] = Machine(pulumi.Output.from_input(spec.private_ip), (),
                                          pulumi.Output.from_input(spec.public_ip))

        self.nodes = [self._node(spec, machines[spec.name], public_ips[spec.name], key, settings,
                                 host_keys[spec.name].public_key_openssh.apply(str.strip) if spec.name in host_keys
                                 else spec.host_key)
                      for spec in settings.nodes]
        self.register_outputs({})

    @staticmethod
    def _node(spec: NodeSpec, machine: Machine, public_ip: pulumi.Input[str], key: SshKey, settings: Settings,
              host_key: pulumi.Input[str]) -> Node:
        public_ip = pulumi.Output.from_input(public_ip)
        host, port = machine.published.get(ports.SSH, (public_ip, spec.port))
        connection = remote.ConnectionArgs(
            host=host, port=port, user=spec.user or settings.ssh_user, host_key=host_key,
            private_key=key.private_key, dial_error_limit=settings.ssh.dial_attempts,
            per_dial_timeout=settings.ssh.dial_timeout)
        return Node(spec, public_ip, machine.private_ip, connection, tuple(machine.booted), machine.identity,
                    host_key, machine.published)

    def known_hosts(self) -> pulumi.Output[list[str]]:
        """`<address> <host key>` a node (`[address]:port` off port 22), as ssh's known_hosts has them."""
        return pulumi.Output.all(*[pulumi.Output.all(n.connection.host, n.host_key).apply(
            lambda v, port=n.connection.port: f"{v[0] if port == 22 else f'[{v[0]}]:{port}'} {v[1]}")
            for n in self.nodes])

    def table(self) -> pulumi.Output[list[dict[str, str]]]:
        """name, cloud, role, public and private IP of every node, in topology order."""
        rows = [pulumi.Output.all(n.public_ip, n.private_ip).apply(
            lambda ips, n=n: {"name": n.name, "cloud": n.cloud, "role": n.role,
                              "publicIp": ips[0], "privateIp": ips[1]}) for n in self.nodes]
        return pulumi.Output.all(*rows)
