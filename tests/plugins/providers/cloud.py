"""The cloud resources under the engine: Azure, Google Cloud, tls and random, with their providers' diff.

No cloud is reached. Each resource gets the harness's fake outputs (tests/harness.py FakeCloud) plus
the ids the real providers give: stable ARM or GCP paths derived from names (a same-named
replacement keeps its `id`) and a per-instance id that every create draws anew (`vmId`, `instanceId`).
A change of an input under one of its type's REPLACE_ON paths replaces the resource; any other change
is an in-place update. Optionally, `hosts` backs each VM with a blank test host at its public address:
creating a VM starts one, deleting it removes it, so a replaced VM comes back blank; it boots with
its cloud-init user data (the host key, files and commands). With `real_keys` (the end-to-end
tests), tls keys are real ones, which real hosts and clients accept.
"""
from __future__ import annotations

import base64
import secrets
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Callable, Optional, Protocol

from tests.harness import FakeCloud

from .state import Goal, ResourceState
from . import Diff, _contains, changed_paths

AZURE_VM, GCP_VM = "azure-native:compute:VirtualMachine", "gcp:compute/instance:Instance"
AZURE_IP, GCP_IP = "azure-native:network:PublicIPAddress", "gcp:compute/address:Address"

# Inputs whose change replaces the resource. azure-native: the resource path's parameters plus its
# forceNewMap (pulumi-azure-native provider/pkg/gen/replacement.go, provider/pkg/provider/diff.go
# calculateDetailedDiff); gcp: the bridged schema's ForceNew (terraform-provider-google v7.45.0
# resource_compute_*.go); tls, random: RequiresReplace on every input (terraform-provider-tls v4.2.1
# resource_private_key.go:57-84, terraform-provider-random v3.9.0 resource_password.go:570-715).
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:network:VirtualNetwork": ("resourceGroupName", "virtualNetworkName", "location"),
    "azure-native:network:Subnet": ("resourceGroupName", "virtualNetworkName", "subnetName"),
    "azure-native:network:NetworkSecurityGroup": ("resourceGroupName", "networkSecurityGroupName"),
    AZURE_IP: ("resourceGroupName", "publicIpAddressName", "location", "sku", "publicIPAddressVersion",
               "publicIPPrefix"),
    "azure-native:network:NetworkInterface": ("resourceGroupName", "networkInterfaceName"),
    AZURE_VM: ("resourceGroupName", "vmName"),
    "gcp:compute/network:Network": ("name", "project", "autoCreateSubnetworks", "description"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "project", "region", "network", "description"),
    GCP_IP: ("name", "project", "region", "address", "addressType", "networkTier", "network", "subnetwork",
             "description", "purpose"),
    "gcp:compute/firewall:Firewall": ("name", "project", "direction"),
    GCP_VM: ("name", "project", "zone", "bootDisk.initializeParams.image", "bootDisk.initializeParams.type",
             "metadataStartupScript", "hostname"),
    "tls:index/privateKey:PrivateKey": ("algorithm", "rsaBits", "ecdsaCurve"),
    "random:index/randomPassword:RandomPassword": ("length", "special", "upper", "lower", "numeric", "number",
                                                   "minNumeric", "minUpper", "minLower", "minSpecial",
                                                   "overrideSpecial", "keepers"),
}
# Azure refuses to change these on an existing VM: 409 PropertyChangeNotAllowed (pulumi-azure-native#1117, #577).
AZURE_VM_IMMUTABLE = ("storageProfile.imageReference", "osProfile")
AZURE_NAME = {  # the input that names each Azure resource (the last segment of its ARM id)
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:network:VirtualNetwork": "virtualNetworkName", "azure-native:network:Subnet": "subnetName",
    "azure-native:network:NetworkSecurityGroup": "networkSecurityGroupName", AZURE_IP: "publicIpAddressName",
    "azure-native:network:NetworkInterface": "networkInterfaceName", AZURE_VM: "vmName",
}


class Hosts(Protocol):
    """Blank test hosts standing in for VMs (tests/e2e/hosts.py)."""

    def start_vm(self, name: str, address: str, user: str, public_key: str, user_data: str = "") -> None: ...

    def remove_vm(self, address: str) -> None: ...


class FakeClouds:
    """Every azure-native, gcp, tls and random resource of the program."""

    def __init__(self, addresses: Optional[Callable[[str], str]] = None, hosts: Optional[Hosts] = None,
                 real_keys: bool = False):
        self.fake = FakeCloud()
        self.addresses, self.hosts, self.real_keys = addresses, hosts, real_keys
        self.by_id: dict[str, dict] = {}  # what a later resource may look up by id (a VM's NIC and IP)
        self._lock = threading.Lock()

    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        """Changed paths; replaces under REPLACE_ON. azure-native replaces delete-first whenever it
        replaces a named resource (provider.go Diff), the gcp bridge when `name` was set
        (tfbridge/schema.go:193-246); tls and random never (pf bridge provider_diff.go:115-121)."""
        paths = changed_paths(old.inputs, news)
        rules = REPLACE_ON.get(old.type, ())
        replaces = tuple(p for p in paths if any(_contains(rule, p) for rule in rules))
        dbr = bool(replaces) and (old.type.startswith("azure-native:") or
                                  (old.type.startswith("gcp:") and "name" in news))
        return Diff(bool(paths), replaces, tuple(paths), delete_before_replace=dbr)

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        with self._lock:
            outputs = {**news, **self.fake.outputs(goal.type, goal.name, news)}
        if self.addresses and goal.type in (AZURE_IP, GCP_IP):
            outputs["ipAddress" if goal.type == AZURE_IP else "address"] = self.addresses(goal.name)
        resource_id = self._id(goal.type, goal.name, news)
        if goal.type == AZURE_VM:
            outputs["vmId"] = str(uuid.uuid4())  # unique per VM instance (SMBIOS), new on every create
        if goal.type == GCP_VM:
            outputs["instanceId"] = str(secrets.randbits(63))
        if self.real_keys and goal.type == "tls:index/privateKey:PrivateKey":
            outputs.update(real_key(news))
        if self.hosts and goal.type in (AZURE_VM, GCP_VM):
            self.hosts.start_vm(goal.name, *self._login(goal.type, news), user_data=self._user_data(goal.type, news))
        with self._lock:
            self.by_id[resource_id] = outputs
        return resource_id, outputs

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        if old.type == AZURE_VM:
            refused = [p for p in changed_paths(old.inputs, news) if any(_contains(r, p) for r in AZURE_VM_IMMUTABLE)]
            if refused:
                raise RuntimeError(f"Status=409 Code=\"PropertyChangeNotAllowed\" Message=\"Changing property "
                                   f"'{refused[0]}' is not allowed.\"")
        outputs = {**old.outputs_plain(), **news}
        with self._lock:
            self.by_id[old.id] = outputs
        return outputs

    def delete(self, old: ResourceState, config: dict) -> None:
        if self.hosts and old.type in (AZURE_VM, GCP_VM):
            self.hosts.remove_vm(self._login(old.type, old.inputs)[0])
        with self._lock:
            self.by_id.pop(old.id, None)

    @staticmethod
    def _id(typ: str, name: str, news: dict) -> str:
        """Ids as the clouds form them: from names, so a same-named replacement has the same id."""
        if typ in AZURE_NAME:
            return (f"/subscriptions/sub/resourceGroups/{news['resourceGroupName']}/{typ.split(':')[-1]}/"
                    f"{news[AZURE_NAME[typ]]}")
        if typ.startswith("gcp:"):
            return f"projects/{news.get('project', 'p')}/{typ.split('/')[-1].split(':')[0]}/{news.get('name', name)}"
        return f"{name}-{secrets.token_hex(4)}"

    @staticmethod
    def _user_data(typ: str, news: dict) -> str:
        """The VM's cloud-init user data (Azure customData, base64; GCP metadata `user-data`)."""
        if typ == AZURE_VM:
            encoded = news["osProfile"].get("customData")
            return base64.b64decode(encoded).decode() if encoded else ""
        return news.get("metadata", {}).get("user-data", "")

    def _login(self, typ: str, news: dict) -> tuple[str, str, str]:
        """(public address, user, public key) a VM is reached at."""
        if typ == GCP_VM:
            address = news["networkInterfaces"][0]["accessConfigs"][0]["natIp"]
            user, key = news["metadata"]["ssh-keys"].split(":", 1)
            return address, user, key
        nic_id = news["networkProfile"]["networkInterfaces"][0]["id"]
        with self._lock:
            nic = self.by_id[nic_id]
            ip = self.by_id[nic["ipConfigurations"][0]["publicIPAddress"]["id"]]
        linux = news["osProfile"]["linuxConfiguration"]
        return ip["ipAddress"], news["osProfile"]["adminUsername"], linux["ssh"]["publicKeys"][0]["keyData"]


def real_key(news: dict) -> dict:
    """A tls PrivateKey's OpenSSH outputs, made by ssh-keygen, for keys that real hosts must accept."""
    kind = news.get("algorithm", "RSA").lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "key")
        size = ["-b", str(int(news.get("rsaBits", 2048)))] if kind == "rsa" else []
        subprocess.run(["ssh-keygen", "-q", "-t", kind, *size, "-N", "", "-f", str(path)], check=True)
        return {"privateKeyOpenssh": path.read_text(), "publicKeyOpenssh": path.with_suffix(".pub").read_text()}
