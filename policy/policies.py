"""flink-swarm's guard rails, as CrossGuard policies over the inputs each resource is registered with.

Mandatory where a violation is a hole: cluster ports reachable from the world, SSH, the Flink UI,
Prometheus or Grafana reachable from the world without the stack's opt-in, Flink's REST API opened to anyone at all (it is
reached through SSH), SSH password login, dynamic public IPs, Weave
without a password, a local node's port published beyond loopback, a privileged local node.
Advisory where it is a choice the config offers (an unencrypted overlay, SSH and the Flink UI open
to everyone by `flink-swarm:worldOpenAdmin`) or a hardening step (GCP project-wide keys).

The opt-in reaches the pack as a marker in the rule's description (Azure security rules, GCP
firewalls): a rule whose description contains OPT_IN was opened to the world on purpose.

During `pulumi preview` a value that depends on a resource not yet created is unknown; reading it
raises `UnknownValueError`, and the engine reports that the policy could not run on that resource.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from pulumi_policy import (EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
                           StackValidationArgs, StackValidationPolicy)
from pulumi_policy.proxy import UnknownValueError

NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
AZURE_VM = "azure-native:compute:VirtualMachine"
AZURE_IP = "azure-native:network:PublicIPAddress"
FIREWALL = "gcp:compute/firewall:Firewall"
GCP_VM = "gcp:compute/instance:Instance"
DOCKER_NETWORK = "docker:index/network:Network"
DOCKER_CONTAINER = "docker:index/container:Container"
COMMAND = "command:remote:Command"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"

# docs/architecture.md "Ports": open to the cluster's own addresses only. ESP (IP protocol 50) has no ports.
# 9100: the node exporters; 7077, 7078: Spark's master and workers
CLUSTER_PORTS = frozenset({2377, 7946, 4789, 6783, 6784, *range(6123, 6128), 9100, 7077, 7078})
# SSH, Prometheus, Grafana, and the LOOPBACK_PORTS
ADMIN_PORTS = frozenset({22, 9090, 3000, 8081, 8083, 8080})
# Flink's REST API, its SQL gateway, Spark's master UI: no firewall opens them, the job CLI reaches them
# through SSH (flink-swarm ui, sql, spark)
LOOPBACK_PORTS = frozenset({8081, 8083, 8080})
OPT_IN = "flink-swarm:worldOpenAdmin"  # in a rule's description: world-open admin ports by the stack's choice
PORT_PROTOCOLS = {"tcp", "udp", "6", "17", "all", "*"}  # protocols a port list narrows
ESP_PROTOCOLS = {"esp", "50", "all", "*"}
WORLD_WORDS = {"*", "internet", "any"}  # Azure's wildcard and service tags
ADMIN_RISK = ("SSH draws password and exploit scans; Flink's REST API has no authentication and runs any uploaded jar; "
              "Prometheus answers anyone's queries, Grafana's login draws password guessing")
PASSWORD_LOGIN = re.compile(r"PasswordAuthentication\s+yes|ssh_pwauth:\s*(true|yes|1)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Ingress:
    """One inbound allow rule, whatever the cloud. `ports` empty means every port."""

    where: str
    sources: tuple[str, ...]
    protocol: str
    ports: tuple[str, ...]
    opted_in: bool = False  # its description carries OPT_IN


def is_world(source: Any) -> bool:
    """True for a source meaning every address: `*`, Azure's `Internet`/`Any` tags, any /0 network."""
    text = str(source).strip().lower()
    if text in WORLD_WORDS:
        return True
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen == 0
    except ValueError:
        return False


def port_range(spec: Any) -> range:
    """`"2377"`, `"6000-7000"` or `"*"` as a range of port numbers."""
    text = str(spec).strip()
    if text == "*":
        return range(65536)
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def reached(rule: Ingress, ports: frozenset[int], esp: bool) -> list[str]:
    """Which of `ports` (and ESP, if `esp`) the rule admits, e.g. `["tcp/2377", "esp"]`."""
    protocol = rule.protocol.strip().lower()
    hits = []
    if protocol in PORT_PROTOCOLS:
        ranges = [port_range(p) for p in rule.ports] or [range(65536)]
        hits = [f"{protocol}/{p}" for p in sorted(ports) if any(p in r for r in ranges)]
    if esp and protocol in ESP_PROTOCOLS:
        hits.append("esp")
    return hits


def _known(items: Iterable[Any], parse: Callable[[Any], list[Ingress]]) -> Iterator[Ingress]:
    """parse() each item; an item holding an unknown (preview) value is skipped so the others are
    still checked, and the first such UnknownValueError is raised at the end."""
    unknown: Optional[UnknownValueError] = None
    for item in items:
        try:
            rules = parse(item)
        except UnknownValueError as err:
            unknown = unknown or err
            continue
        yield from rules
    if unknown:
        raise unknown


def _azure_rule(rule: Mapping[str, Any]) -> list[Ingress]:
    """An Azure security rule (inline or standalone) as Ingress, if it is an inbound allow."""
    inbound_allow = (str(rule.get("direction", "Inbound")).lower(), str(rule.get("access", "Allow")).lower())
    if inbound_allow != ("inbound", "allow"):
        return []
    sources = list(rule.get("sourceAddressPrefixes") or [])
    if rule.get("sourceAddressPrefix"):
        sources.append(rule["sourceAddressPrefix"])
    ports = rule.get("destinationPortRanges") or [rule.get("destinationPortRange") or "*"]
    name = rule.get("name") or rule.get("securityRuleName")
    return [Ingress(f"security rule {name!r}", tuple(sources), str(rule.get("protocol", "*")), tuple(ports),
                    OPT_IN in str(rule.get("description") or ""))]


def _gcp_firewall(props: Mapping[str, Any]) -> list[Ingress]:
    """A GCP firewall's allows as Ingress. With no source at all, GCP admits 0.0.0.0/0."""
    if str(props.get("direction") or "INGRESS").upper() != "INGRESS":
        return []
    sources = list(props.get("sourceRanges") or [])
    if not (sources or props.get("sourceTags") or props.get("sourceServiceAccounts")):
        sources = ["0.0.0.0/0"]
    opted_in = OPT_IN in str(props.get("description") or "")
    return [Ingress(f"firewall allow {allow.get('protocol')!r}", tuple(sources), str(allow.get("protocol", "")),
                    tuple(allow.get("ports") or []), opted_in) for allow in props.get("allows") or []]


def ingress_rules(args: ResourceValidationArgs) -> Iterator[Ingress]:
    """Every inbound allow rule of an Azure NSG (inline rules), Azure SecurityRule or GCP firewall."""
    if args.resource_type == NSG:
        yield from _known(args.props.get("securityRules") or [], _azure_rule)
    elif args.resource_type == SECURITY_RULE:
        yield from _azure_rule(args.props)
    elif args.resource_type == FIREWALL:
        yield from _gcp_firewall(args.props)


def _open_to_world(ports: frozenset[int], esp: bool, why: str, opted_in: Optional[bool] = None
                   ) -> Callable[..., None]:
    """A validation reporting every rule that lets the world reach `ports` (or ESP); with `opted_in`
    only the rules that carry the OPT_IN marker (True) or that do not (False)."""
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for rule in ingress_rules(args):
            if opted_in is not None and rule.opted_in != opted_in:
                continue
            world = [s for s in rule.sources if is_world(s)]
            hits = reached(rule, ports, esp)
            if world and hits:
                report(f"{rule.where} admits {world[0]!r} to {', '.join(hits)}: {why}")
    return validate


def flink_rest_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No inbound allow rule admits anyone, adminCidrs included, to LOOPBACK_PORTS (Flink's REST API 8081,
    its SQL gateway 8083, Spark's master UI 8080)."""
    for rule in ingress_rules(args):
        hits = reached(rule, LOOPBACK_PORTS, False)
        if hits:
            sources = ", ".join(map(repr, rule.sources[:3])) or "its source tags"
            report(f"{rule.where} admits {sources} to {hits[0]}: Flink's REST API and SQL gateway and Spark's "
                   "master UI have no authentication, run any uploaded jar or statement (or kill applications), "
                   "and what they receive would travel in clear text; reach them through SSH "
                   "(`flink-swarm ui`, `sql`, `spark`: docs/jobs.md)")


def azure_vm_keys_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Azure VMs: password authentication disabled and no admin password."""
    if args.resource_type != AZURE_VM:
        return
    profile = args.props.get("osProfile") or {}
    if profile.get("adminPassword"):
        report("osProfile.adminPassword is set: log in with SSH keys only, remove the password")
    if (profile.get("linuxConfiguration") or {}).get("disablePasswordAuthentication") is not True:
        report("osProfile.linuxConfiguration.disablePasswordAuthentication must be true")


def gcp_vm_keys_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """GCP instances: no startup script or cloud-init user-data that turns SSH password login on."""
    if args.resource_type != GCP_VM:
        return
    metadata = args.props.get("metadata") or {}
    for where, text in (("metadataStartupScript", args.props.get("metadataStartupScript")),
                        ("metadata.startup-script", metadata.get("startup-script")),
                        ("metadata.user-data", metadata.get("user-data"))):
        if text and PASSWORD_LOGIN.search(str(text)):
            report(f"{where} enables SSH password login: keep PasswordAuthentication off, use keys")


def gcp_project_keys_blocked(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """GCP instances set block-project-ssh-keys, so project-wide keys don't open the nodes."""
    if args.resource_type == GCP_VM and \
            str((args.props.get("metadata") or {}).get("block-project-ssh-keys", "")).lower() != "true":
        report("metadata block-project-ssh-keys is not 'true': every SSH key in the project's metadata "
               "(e.g. of anyone who ran `gcloud compute ssh` in the project) logs in to this node")


def static_public_ips(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Azure public IPs Static and Standard SKU; GCP access configs on a reserved address (natIp)."""
    if args.resource_type == AZURE_IP:
        if args.props.get("publicIPAllocationMethod") != "Static":
            report("publicIPAllocationMethod must be 'Static': swarm peers and firewalls use this address")
        if (args.props.get("sku") or {}).get("name") != "Standard":
            report("sku.name must be 'Standard' (closed to inbound traffic unless an NSG allows it)")
    elif args.resource_type == GCP_VM:
        for nic in args.props.get("networkInterfaces") or []:
            for access in nic.get("accessConfigs") or []:
                if not access.get("natIp"):
                    report("an accessConfig without natIp gets an ephemeral address: reserve a "
                           "gcp.compute.Address and use it as natIp")


def overlay_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Docker overlay networks carry the `encrypted` option (IPsec between nodes)."""
    if args.resource_type == DOCKER_NETWORK and args.props.get("driver") == "overlay" and \
            "encrypted" not in (args.props.get("options") or {}):
        report("overlay network without the 'encrypted' option: container traffic between clouds crosses "
               "the internet in plaintext (set flink-swarm:network.encrypted true)")


def local_nodes_loopback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Local nodes (containers) publish ports on loopback only, and are not privileged."""
    if args.resource_type != DOCKER_CONTAINER:
        return
    for port in args.props.get("ports") or []:
        host = port.get("ip") or "0.0.0.0"  # the provider's default: every address of the machine
        if not ipaddress.ip_address(host).is_loopback:
            report(f"port {port.get('internal')} is published on {host}: whoever reaches this machine reaches "
                   f"the node's SSH or Flink's REST API; publish it on 127.0.0.1")
    if args.props.get("privileged"):
        report("a privileged container is root on this machine: give it the capabilities it needs instead")


def storage_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Buckets and storage accounts (Flink's state: flink.state) are closed to the public and to plain HTTP."""
    props = args.props
    if args.resource_type == GCS_BUCKET:
        if props.get("publicAccessPrevention") != "enforced":
            report("publicAccessPrevention must be 'enforced': no ACL or IAM binding can make the jobs' state public")
        if props.get("uniformBucketLevelAccess") is not True:
            report("uniformBucketLevelAccess must be true: access by IAM only, no per-object ACLs")
    elif args.resource_type == STORAGE_ACCOUNT:
        if props.get("allowBlobPublicAccess") is not False:
            report("allowBlobPublicAccess must be false: no container of the jobs' state can be made public")
        if props.get("enableHttpsTrafficOnly") is False:
            report("enableHttpsTrafficOnly must stay true: the account's key and data never cross in plain HTTP")
        if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
            report("minimumTlsVersion must be TLS1_2 or newer")


def is_weave(driver: Any) -> bool:
    """A Weave Net plugin driver, e.g. `weaveworks/net-plugin:latest_release`."""
    text = str(driver or "").lower()
    return "weave" in text or "net-plugin" in text


def weave_password(args: StackValidationArgs, report: ReportViolation) -> None:
    """A stack with a Weave network has its Weave plugin commands (`<node>-weave`) fed a password."""
    networks = [r for r in args.resources if r.resource_type == DOCKER_NETWORK and is_weave(r.props.get("driver"))]
    if not networks:
        return
    plugins = [r for r in args.resources if r.resource_type == COMMAND and r.name.endswith("-weave")]
    if not plugins:
        report("a Weave network but no Weave plugin command (<node>-weave) sets its password", networks[0].urn)
    for command in plugins:
        if not str(command.props.get("stdin") or "").strip():
            report(f"{command.name} configures Weave without a password on stdin: traffic is unencrypted "
                   "and any host that reaches port 6783 can join", command.urn)


MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY

POLICIES = [
    ResourceValidationPolicy(
        "cluster-ports-not-public",
        "Swarm, overlay, ESP, Weave and Flink-internal ports are not open to the world.",
        _open_to_world(CLUSTER_PORTS, True, "these ports must admit only the cluster's own addresses"),
        MANDATORY),
    ResourceValidationPolicy(
        "admin-ports-not-public",
        "SSH and the admin ports (the Flink UI/REST port, Prometheus, Grafana) are not open to the world, unless "
        "the stack opted in.",
        _open_to_world(ADMIN_PORTS, False, f"{ADMIN_RISK}; narrow flink-swarm:adminCidrs to your own networks "
                       f"(or opt in with {OPT_IN})", opted_in=False),
        MANDATORY),
    ResourceValidationPolicy(
        "admin-ports-world-open-by-choice",
        "SSH and the admin ports (Prometheus, Grafana) open to the world by the stack's opt-in "
        "(flink-swarm:worldOpenAdmin).",
        _open_to_world(ADMIN_PORTS, False, f"opened on purpose ({OPT_IN}); {ADMIN_RISK}", opted_in=True),
        ADVISORY),
    ResourceValidationPolicy(
        "flink-rest-not-opened",
        "No firewall rule admits anyone, adminCidrs included, to Flink's REST API (8081), its SQL gateway (8083) or "
        "Spark's master UI (8080): they are reached through SSH.",
        flink_rest_closed, MANDATORY),
    ResourceValidationPolicy(
        "ssh-password-login-disabled",
        "Machines accept SSH keys only, never passwords.",
        [azure_vm_keys_only, gcp_vm_keys_only], MANDATORY),
    ResourceValidationPolicy(
        "gcp-project-ssh-keys-blocked",
        "GCP instances ignore project-wide SSH keys.",
        gcp_project_keys_blocked, ADVISORY),
    ResourceValidationPolicy(
        "static-public-ips",
        "Public IPs are static: Azure Static/Standard, GCP natIp from a reserved address.",
        static_public_ips, MANDATORY),
    ResourceValidationPolicy(
        "overlay-network-encrypted",
        "Docker overlay networks are encrypted.",
        overlay_encrypted, ADVISORY),
    ResourceValidationPolicy(
        "local-nodes-loopback-only",
        "Local nodes publish their ports on loopback only and are not privileged.",
        local_nodes_loopback, MANDATORY),
    ResourceValidationPolicy(
        "state-storage-private",
        "The buckets and storage accounts of Flink's state are private and HTTPS-only.",
        storage_private, MANDATORY),
    StackValidationPolicy(
        "weave-network-password",
        "A Weave network's plugin is configured with a password.",
        weave_password, MANDATORY),
]
