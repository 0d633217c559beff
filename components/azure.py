"""Azure nodes: resource group, VNet/subnet, NSG from the port table, static IP, NIC and VM per node."""
from __future__ import annotations

import base64
from typing import Mapping

import pulumi
import pulumi_tls as tls
from pulumi_azure_native import compute, network, resources

from . import ports
from .aliases import without_type_aliases
from .boot import first_boot
from .config import Settings
from .config.topology import AZURE
from .machines import Machine


class AzureNodes(pulumi.ComponentResource):
    """The stack's Azure machines. Resource names derive from node names, never list positions."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:azure:Nodes", name, None, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(transformations=[without_type_aliases])))
        self._settings = settings
        self._child = pulumi.ResourceOptions(parent=self)
        cfg = settings.azure
        self.private_range: str = cfg.subnet
        self.group = resources.ResourceGroup(
            "rg", resource_group_name=f"{settings.name_prefix}-flink-swarm", location=cfg.location,
            opts=self._child)
        self.vnet = network.VirtualNetwork(
            "vnet", resource_group_name=self.group.name, virtual_network_name=f"{settings.name_prefix}-vnet",
            address_space=network.AddressSpaceArgs(address_prefixes=[cfg.address_space]), opts=self._child)
        self.ips = {
            spec.name: network.PublicIPAddress(
                f"{spec.name}-ip", resource_group_name=self.group.name, public_ip_address_name=f"{spec.name}-ip",
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static", public_ip_address_version="IPv4", opts=self._child)
            for spec in settings.of_cloud(AZURE)
        }
        self.public_ips = {name: ip.ip_address.apply(lambda a: a or "") for name, ip in self.ips.items()}

    def _rules(self, cluster_sources: pulumi.Input[list[str]]) -> list[network.SecurityRuleArgs]:
        rules = []
        for index, rule in ports.cloud_rules_for(self._settings):
            sources = cluster_sources if rule.scope == ports.CLUSTER else list(self._settings.admin_cidrs)
            # A protocol without ports (ESP) takes "*" in the single-value field: Azure refuses "*" in
            # the list (SecurityRuleInvalidPortRange: "Value should be an integer OR integer range").
            destination = ({"destination_port_ranges": list(rule.ports)} if rule.ports
                           else {"destination_port_range": "*"})
            rules.append(network.SecurityRuleArgs(
                name=rule.name, priority=100 + 10 * index, direction="Inbound", access="Allow",
                protocol=rule.protocol.capitalize(), source_address_prefixes=sources, source_port_range="*",
                destination_address_prefix="*", description=ports.describe(rule, self._settings.world_open_admin),
                **destination))
        return rules

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str],
                 host_keys: Mapping[str, tls.PrivateKey]) -> dict[str, Machine]:
        """NSG (inline rules only), subnet, and NIC + VM per node (cloud-init's user data in custom_data)."""
        s, cfg = self._settings, self._settings.azure
        nsg = network.NetworkSecurityGroup(
            "nsg", resource_group_name=self.group.name, network_security_group_name=f"{s.name_prefix}-nsg",
            security_rules=self._rules(cluster_sources), opts=self._child)
        subnet = network.Subnet(
            "subnet", resource_group_name=self.group.name, virtual_network_name=self.vnet.name,
            subnet_name="nodes", address_prefix=cfg.subnet,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id), opts=self._child)
        out = {}
        for spec in s.of_cloud(AZURE):
            nic = network.NetworkInterface(
                f"{spec.name}-nic", resource_group_name=self.group.name, network_interface_name=f"{spec.name}-nic",
                ip_configurations=[network.NetworkInterfaceIPConfigurationArgs(
                    name="primary", primary=True, subnet=network.SubnetArgs(id=subnet.id),
                    private_ip_allocation_method="Dynamic",
                    public_ip_address=network.PublicIPAddressArgs(id=self.ips[spec.name].id))],
                opts=self._child)
            vm = compute.VirtualMachine(
                f"{spec.name}-vm", resource_group_name=self.group.name, vm_name=spec.name,
                hardware_profile=compute.HardwareProfileArgs(vm_size=spec.size or cfg.size),
                network_profile=compute.NetworkProfileArgs(network_interfaces=[
                    compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True)]),
                os_profile=compute.OSProfileArgs(
                    computer_name=spec.name, admin_username=s.ssh_user,
                    custom_data=first_boot(spec, s, host_keys[spec.name]).apply(
                        lambda text: base64.b64encode(text.encode()).decode()),
                    linux_configuration=compute.LinuxConfigurationArgs(
                        disable_password_authentication=True,
                        ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                            key_data=public_key, path=f"/home/{s.ssh_user}/.ssh/authorized_keys")]))),
                storage_profile=compute.StorageProfileArgs(
                    image_reference=compute.ImageReferenceArgs(**cfg.image),
                    os_disk=compute.OSDiskArgs(
                        name=f"{spec.name}-os", create_option="FromImage", disk_size_gb=cfg.disk_gb,
                        delete_option="Delete",
                        managed_disk=compute.ManagedDiskParametersArgs(storage_account_type="StandardSSD_LRS"))),
                # azure-native diffs a new image or login as an in-place update, which Azure refuses
                # (409 PropertyChangeNotAllowed: pulumi-azure-native#1117, #577): replace the VM instead,
                # the old one first (its name, NIC and disk are the new one's; azure-native asks the same).
                # The user data is read at first boot only: a change of it (a new Docker version, Flink
                # image) leaves the VM alone, its steps do the work. A replacement boots with the current
                # value: the engine checks the program's own inputs again for one (pulumi/pulumi v3.276.0
                # pkg/resource/deploy/step_generator.go:1416-1431 for --replace, 2101-2122 for a diff's).
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                    replace_on_changes=["storageProfile.imageReference", "osProfile"], delete_before_replace=True,
                    ignore_changes=["osProfile.customData"])))
            # vmId is unique per VM instance (its ARM id is not: a replacement has the same name).
            out[spec.name] = Machine(nic.ip_configurations.apply(lambda c: (c or [{}])[0].private_ip_address or ""),
                                     [vm], vm.vm_id)
        self.register_outputs({})
        return out
