"""Google Cloud nodes: VPC/subnet, firewall rules from the port table, static address and instance per node."""
from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_tls as tls
from pulumi_gcp import compute

from . import ports
from .boot import first_boot
from .config import Settings
from .config.topology import GCP
from .machines import Machine


class GcpNodes(pulumi.ComponentResource):
    """The stack's GCP machines. Names are `<namePrefix>-<node>` (GCP names are project-wide)."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:gcp:Nodes", name, None, opts)
        self._settings = settings
        self._child = pulumi.ResourceOptions(parent=self)
        cfg, prefix = settings.gcp, settings.name_prefix
        self.private_range: str = cfg.subnet
        self.tag = f"{prefix}-flink-swarm"
        self.vpc = compute.Network("vpc", name=f"{prefix}-net", auto_create_subnetworks=False,
                                   project=cfg.project, opts=self._child)
        self.subnet = compute.Subnetwork("subnet", name=f"{prefix}-nodes", network=self.vpc.id,
                                         ip_cidr_range=cfg.subnet, region=cfg.region,
                                         project=cfg.project, opts=self._child)
        self.addresses = {
            spec.name: compute.Address(f"{spec.name}-ip", name=f"{prefix}-{spec.name}-ip", address_type="EXTERNAL",
                                       network_tier="PREMIUM", region=cfg.region, project=cfg.project,
                                       opts=self._child)
            for spec in settings.of_cloud(GCP)
        }
        self.public_ips = {name: a.address for name, a in self.addresses.items()}

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str],
                 host_keys: Mapping[str, tls.PrivateKey]) -> dict[str, Machine]:
        """One firewall per port-table rule, an instance per node (cloud-init's user data in its metadata)."""
        s, cfg, prefix = self._settings, self._settings.gcp, self._settings.name_prefix
        firewalls = [
            compute.Firewall(
                f"fw-{rule.name}", name=f"{prefix}-{rule.name}", network=self.vpc.self_link, direction="INGRESS",
                description=ports.describe(rule, s.world_open_admin),
                project=cfg.project, target_tags=[self.tag],
                allows=[compute.FirewallAllowArgs(protocol=rule.protocol, ports=list(rule.ports) or None)],
                source_ranges=cluster_sources if rule.scope == ports.CLUSTER else list(s.admin_cidrs),
                opts=self._child)
            for _, rule in ports.cloud_rules_for(s)]
        out = {}
        for spec in s.of_cloud(GCP):
            instance = compute.Instance(
                f"{spec.name}-vm", name=f"{prefix}-{spec.name}", machine_type=spec.size or cfg.size,
                zone=cfg.zone, project=cfg.project, tags=[self.tag], allow_stopping_for_update=True,
                boot_disk=compute.InstanceBootDiskArgs(initialize_params=compute.InstanceBootDiskInitializeParamsArgs(
                    image=cfg.image, size=cfg.disk_gb, type="pd-balanced")),
                network_interfaces=[compute.InstanceNetworkInterfaceArgs(
                    subnetwork=self.subnet.id,
                    access_configs=[compute.InstanceNetworkInterfaceAccessConfigArgs(
                        nat_ip=self.addresses[spec.name].address, network_tier="PREMIUM")])],
                metadata={"ssh-keys": pulumi.Output.concat(s.ssh_user, ":", public_key),
                          "block-project-ssh-keys": "true", "enable-oslogin": "FALSE",
                          "user-data": first_boot(spec, s, host_keys[spec.name])},
                # Its name and static address are the new one's: the old one must go first (the bridge
                # asks the same for a resource named explicitly, pulumi-terraform-bridge tfbridge/schema.go:193-246).
                # The user data is read at first boot only, as on Azure: its changes are ignored ("user-data"
                # is one path element: pulumi/pulumi sdk/go/common/resource/properties_path.go parsePropertyPath).
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                    delete_before_replace=True, ignore_changes=["metadata.user-data"])))
            # SSH waits for the firewall too: the instance may boot before port 22 is open.
            # instanceId is unique per instance (its id and selfLink are not: a replacement has the same name).
            out[spec.name] = Machine(
                instance.network_interfaces.apply(lambda nics: (nics or [{}])[0].network_ip or ""),
                [instance, *firewalls], instance.instance_id)
        self.register_outputs({})
        return out
