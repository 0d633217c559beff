"""Stack settings: read once, validated into typed objects before any resource is registered.

`parse()` is pure (plain dicts in, `Settings` out) so every rule is testable without Pulumi;
`load()` feeds it from `pulumi.Config`. Every error names the field, the bad value and the fix.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from .checks import DNS_NAME, ConfigError, choice, cidr, fail, mapping, positive_int
from .ports import ADMIN, CLUSTER, rules_for
from .topology import DEFAULT_TOPOLOGY, NodeSpec, expand_topology

__all__ = ["ConfigError", "NodeSpec", "Settings", "load", "parse"]

PROJECT = "flink-swarm"
ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "defaults.yaml"
P = f"{PROJECT}:"  # the prefix of the stack's own settings

DRIVERS = ("weave", "overlay")
DOCKER_INSTALLS = ("docker-ce", "docker.io")
MAX_PREFIX = 19  # GCP names are at most 63: "<prefix>-<node>-ip" = 19 + 1 + 40 + 3
AZURE_NSG_SOURCES = 4000  # Azure: addresses and ranges in one network security group's rules
AZURE_PUBLIC_IPS = 10  # Azure: default quota of Standard public IPs per region and subscription (see README)
RESERVED_ADDRESSES = {"azure": 5, "gcp": 4}  # per subnet
MEMORY = re.compile(r"^[0-9]+(m|g|mb|gb)$", re.IGNORECASE)
VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
MTU_RANGE = (1280, 9000)  # IPv6's minimum to jumbo frames
WEAVE_OVERHEAD = 84  # VXLAN 50 + ESP 34 (weaveworks/weave net/bridge.go:381-388)
# Azure refuses these admin user names on a VM (compute API OSProfile.adminUsername, "Disallowed values").
AZURE_RESERVED_USERS = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
    "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"})


@dataclass(frozen=True)
class NetworkSpec:
    driver: str
    subnet: str
    encrypted: bool
    weave_plugin: str
    weave_mtu: int  # the containers' MTU on Weave
    mtu: int = 1460  # the hosts' network MTU (Docker's overlay subtracts its own overhead)


@dataclass(frozen=True)
class FlinkSpec:
    image: str
    task_slots: int
    taskmanager_memory: str
    jobmanager_memory: str
    parallelism: int


@dataclass(frozen=True)
class AzureSpec:
    """defaults.yaml `azure:` plus the region."""

    location: Optional[str]
    size: str
    disk_gb: int
    address_space: str
    subnet: str
    image: Mapping[str, str]  # publisher, offer, sku, version


@dataclass(frozen=True)
class GcpSpec:
    """defaults.yaml `gcp:` plus project, region and zone."""

    project: Optional[str]
    region: Optional[str]
    zone: Optional[str]
    size: str
    disk_gb: int
    subnet: str
    image: str


@dataclass(frozen=True)
class SshSpec:
    """How long a remote command keeps dialling a host that does not answer."""

    dial_attempts: int
    dial_timeout: int  # seconds, each dial


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, validated."""

    stack: str
    name_prefix: str
    nodes: tuple[NodeSpec, ...]
    admin_cidrs: tuple[str, ...]
    ssh_user: str
    ssh_public_key: Optional[str]  # None: a key pair is generated
    ssh_private_key: Any  # secret Output[str] (a str in tests), or None
    weave_password: Any  # secret Output[str], or None: one is generated
    docker_install: str
    docker_version: str  # docker-ce: the exact version installed and held; "" for docker.io
    network: NetworkSpec
    flink: FlinkSpec
    azure: AzureSpec
    gcp: GcpSpec
    ssh: SshSpec
    warnings: tuple[str, ...] = ()  # shown by `pulumi preview` and `up`, refusing nothing

    def of_cloud(self, cloud: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.cloud == cloud]

    def of_role(self, role: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.role == role]


def read_yaml(path: Path, fieldname: str) -> Any:
    """Read a YAML file, turning I/O and syntax errors into a ConfigError naming `fieldname`."""
    try:
        text = path.read_text()
    except OSError as err:
        fail(fieldname, str(path), f"cannot read the file ({err.strerror})",
             f"point {fieldname} at a readable YAML file, e.g. "
             f"`pulumi config set {fieldname} {DEFAULT_TOPOLOGY}`")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        fail(fieldname, str(path), f"not valid YAML: {err}".replace("\n", " "),
             "correct the YAML syntax at the position shown")


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse(cfg: Mapping[str, Any], providers: Mapping[str, Optional[str]], stack: str) -> Settings:
    """Validate raw stack config (`flink-swarm:` keys without the prefix) into `Settings`.

    `providers` holds `azure-native:location`, `gcp:project`, `gcp:region`, `gcp:zone` (or None).
    """
    defaults = read_yaml(DEFAULTS_FILE, str(DEFAULTS_FILE))
    ssh_user = _ssh_user(cfg, defaults)
    docker_install, docker_version = _docker(cfg, defaults)
    nodes = _topology(cfg, ssh_user)
    _check_azure_user(ssh_user, nodes)
    admin_cidrs = _admin_cidrs(cfg)
    public_key, private_key = _key_pair(cfg, nodes)
    network = _network(cfg, defaults)
    flink = _flink(cfg, defaults)
    azure = _azure(defaults, providers, nodes)
    gcp = _gcp(defaults, providers, nodes)
    _check_capacity(nodes, network, admin_cidrs, azure, gcp)
    return Settings(stack, _name_prefix(cfg, stack), nodes, admin_cidrs, ssh_user, public_key, private_key,
                    cfg.get("weavePassword"), docker_install, docker_version, network, flink, azure, gcp,
                    _ssh(cfg, defaults), _quota_warnings(nodes))


def _ssh_user(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    ssh_user = cfg.get("sshUser", defaults["sshUser"])
    if not isinstance(ssh_user, str) or not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", ssh_user):
        fail(f"{P}sshUser", ssh_user, "not a Linux user name", "e.g. ubuntu")
    return ssh_user


def _docker(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[str, str]:
    """How Docker is installed, and for docker-ce the exact version (the distribution picks docker.io's)."""
    install = choice(f"{P}dockerInstall", cfg.get("dockerInstall", defaults["dockerInstall"]), DOCKER_INSTALLS)
    if install == "docker.io":
        if "dockerVersion" in cfg:
            fail(f"{P}dockerVersion", cfg["dockerVersion"], "docker.io installs the distribution's version",
                 "unset flink-swarm:dockerVersion, or use dockerInstall docker-ce to choose the version")
        return install, ""
    version = str(cfg.get("dockerVersion", defaults["dockerVersion"]))
    if not VERSION.match(version):
        fail(f"{P}dockerVersion", version, "not a Docker Engine version", "write it as in Docker's release "
             "notes, e.g. 28.5.2 (`apt-cache madison docker-ce` lists what a host can get)")
    return install, version


def _check_azure_user(ssh_user: str, nodes: tuple[NodeSpec, ...]) -> None:
    if ssh_user.lower() in AZURE_RESERVED_USERS and any(n.cloud == "azure" for n in nodes):
        fail(f"{P}sshUser", ssh_user, "Azure refuses this admin user name on a VM",
             "choose another, e.g. `pulumi config set flink-swarm:sshUser ubuntu`")


def _topology(cfg: Mapping[str, Any], ssh_user: str) -> tuple[NodeSpec, ...]:
    topology = cfg.get("topology", DEFAULT_TOPOLOGY)
    path = Path(topology) if Path(str(topology)).is_absolute() else ROOT / str(topology)
    return expand_topology(read_yaml(path, f"{P}topology"), ssh_user, f"{P}topology")


def _admin_cidrs(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    cidrs = cfg.get("adminCidrs")
    if not isinstance(cidrs, list) or not cidrs:
        fail(f"{P}adminCidrs", cidrs, "required: the networks allowed to reach SSH and the Flink UI",
             "`pulumi config set --path 'flink-swarm:adminCidrs[0]' <your IP>/32`")
    return tuple(cidr(f"{P}adminCidrs[{i}]", c) for i, c in enumerate(cidrs))


def _key_pair(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> tuple[Optional[str], Any]:
    """The given key pair (both or neither); static nodes need one already in their authorized_keys."""
    public_key, private_key = cfg.get("sshPublicKey"), cfg.get("sshPrivateKey")
    has_public, has_private = public_key is not None, private_key is not None
    if has_public != has_private:
        missing = "sshPrivateKey" if has_public else "sshPublicKey"
        fail(f"{P}{missing}", None, "sshPublicKey and sshPrivateKey go together",
             f"set {P}{missing} too (`--secret` for the private key), or unset both to generate a pair")
    statics = [n.name for n in nodes if n.cloud == "static"]
    if statics and not has_public:
        fail(f"{P}sshPrivateKey", None, f"static nodes {statics} need a key already in their "
             "authorized_keys; a generated key cannot be",
             "`pulumi config set flink-swarm:sshPublicKey \"$(cat key.pub)\"` and "
             "`pulumi config set --secret flink-swarm:sshPrivateKey < key`")
    return public_key, private_key


def _network(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> NetworkSpec:
    keys = {"driver", "subnet", "encrypted", "weavePlugin", "weaveMtu", "mtu"}
    net = _deep_merge(defaults["network"], mapping(f"{P}network", cfg.get("network"), keys))
    if not isinstance(net["encrypted"], bool):
        fail(f"{P}network.encrypted", net["encrypted"], "must be true or false", "write true or false")
    mtu = positive_int(f"{P}network.mtu", net["mtu"], MTU_RANGE[0])
    if mtu > MTU_RANGE[1]:
        fail(f"{P}network.mtu", mtu, f"more than {MTU_RANGE[1]}, the largest jumbo frame",
             "give your hosts' network MTU: 1460 on Google Cloud, 1500 on Azure")
    weave_mtu = positive_int(f"{P}network.weaveMtu", net.get("weaveMtu", mtu - WEAVE_OVERHEAD), 576)
    if weave_mtu > mtu - WEAVE_OVERHEAD:
        fail(f"{P}network.weaveMtu", weave_mtu, f"more than network.mtu {mtu} less Weave's "
             f"{WEAVE_OVERHEAD} bytes of encapsulation (full-size packets would be dropped)",
             f"unset it (it follows network.mtu) or use at most {mtu - WEAVE_OVERHEAD}")
    return NetworkSpec(
        driver=choice(f"{P}network.driver", net["driver"], DRIVERS),
        subnet=cidr(f"{P}network.subnet", net["subnet"]),
        encrypted=net["encrypted"],
        weave_plugin=str(net["weavePlugin"]),
        weave_mtu=weave_mtu,
        mtu=mtu,
    )


def _flink(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> FlinkSpec:
    fl = _deep_merge(defaults["flink"], mapping(f"{P}flink", cfg.get("flink"), set(defaults["flink"])))
    for key in ("taskmanagerMemory", "jobmanagerMemory"):
        if not MEMORY.match(str(fl[key])):
            fail(f"{P}flink.{key}", fl[key], "not a memory size", "write e.g. 4096m or 4g")
    if not isinstance(fl["image"], str) or not fl["image"] or " " in fl["image"]:
        fail(f"{P}flink.image", fl["image"], "not an image reference", "e.g. flink:1.20.3-java17")
    return FlinkSpec(
        image=fl["image"],
        task_slots=positive_int(f"{P}flink.taskSlots", fl["taskSlots"]),
        taskmanager_memory=str(fl["taskmanagerMemory"]),
        jobmanager_memory=str(fl["jobmanagerMemory"]),
        parallelism=positive_int(f"{P}flink.parallelism", fl["parallelism"]),
    )


def _azure(defaults: Mapping[str, Any], providers: Mapping[str, Optional[str]],
           nodes: tuple[NodeSpec, ...]) -> AzureSpec:
    d = defaults["azure"]
    azure = AzureSpec(providers.get("azure-native:location"), d["size"], d["diskGb"], d["addressSpace"],
                      d["subnet"], d["image"])
    if any(n.cloud == "azure" for n in nodes) and not azure.location:
        fail("azure-native:location", None, "the topology has Azure nodes but no Azure region is set",
             "`pulumi config set azure-native:location westeurope`")
    return azure


def _gcp(defaults: Mapping[str, Any], providers: Mapping[str, Optional[str]], nodes: tuple[NodeSpec, ...]) -> GcpSpec:
    """The project and zone are required with GCP nodes; the region follows the zone."""
    d = defaults["gcp"]
    project, zone, region = (providers.get(f"gcp:{key}") for key in ("project", "zone", "region"))
    if any(n.cloud == "gcp" for n in nodes):
        for key, value, example in (("project", project, "my-project-id"), ("zone", zone, "europe-west1-b")):
            if not value:
                fail(f"gcp:{key}", None, "the topology has Google Cloud nodes but no "
                     f"gcp:{key} is set", f"`pulumi config set gcp:{key} {example}`")
        zone_region = zone.rsplit("-", 1)[0]
        if region and region != zone_region:
            fail("gcp:zone", zone, f"not in gcp:region {region!r}",
                 f"use a zone of {region} or set gcp:region {zone_region}")
        region = zone_region
    return GcpSpec(project, region, zone, d["size"], d["diskGb"], d["subnet"], d["image"])


def _check_capacity(nodes: tuple[NodeSpec, ...], network: NetworkSpec, admin_cidrs: tuple[str, ...],
                    azure: AzureSpec, gcp: GcpSpec) -> None:
    """No more nodes than a cloud's subnet holds, nor sources than Azure's NSG takes."""
    for cloud, subnet in (("azure", azure.subnet), ("gcp", gcp.subnet)):
        count = sum(n.cloud == cloud for n in nodes)
        room = ipaddress.ip_network(subnet).num_addresses - RESERVED_ADDRESSES[cloud]
        if count > room:
            fail(f"{P}topology", count, f"more {cloud} nodes than the {cloud} subnet {subnet} "
                 f"holds ({room})", f"use fewer nodes or a larger `{cloud}.subnet` in config/defaults.yaml")
    if any(n.cloud == "azure" for n in nodes):
        # cluster rules list every node's /32 and each cloud's private subnet; admin rules the adminCidrs
        rules = [rule.scope for _, rule in rules_for(network)]
        subnets = len({n.cloud for n in nodes} - {"static"})
        admin = rules.count(ADMIN) * len(admin_cidrs)
        sources = rules.count(CLUSTER) * (len(nodes) + subnets) + admin
        if sources > AZURE_NSG_SOURCES:
            most = (AZURE_NSG_SOURCES - admin) // rules.count(CLUSTER) - subnets
            fail(f"{P}topology", len(nodes), f"Azure's network security group would list {sources} source "
                 f"addresses, over its limit of {AZURE_NSG_SOURCES}",
                 f"use at most {most} nodes with this network driver and these adminCidrs")


def _quota_warnings(nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    azure = sum(n.cloud == "azure" for n in nodes)
    if azure <= AZURE_PUBLIC_IPS:
        return ()
    return (f"{azure} Azure nodes need {azure} Standard public IPs in one region; the default quota is "
            f"{AZURE_PUBLIC_IPS} per region (1000 on Enterprise Agreements). Check yours with "
            "`az network list-usages --location <region>` and ask for more before `pulumi up`.",)


def _name_prefix(cfg: Mapping[str, Any], stack: str) -> str:
    prefix = cfg.get("namePrefix") or re.sub(r"[^a-z0-9-]+", "-", stack.lower())[:MAX_PREFIX].strip("-") or "fs"
    if not DNS_NAME.match(prefix) or len(prefix) > MAX_PREFIX:
        fail(f"{P}namePrefix", prefix, f"not a DNS-safe prefix of at most {MAX_PREFIX} characters",
             "use lowercase letters, digits and '-', e.g. dev-alice")
    return prefix


def _ssh(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> SshSpec:
    ssh_cfg = _deep_merge(defaults["ssh"], mapping(f"{P}ssh", cfg.get("ssh"), set(defaults["ssh"])))
    return SshSpec(positive_int(f"{P}ssh.dialAttempts", ssh_cfg["dialAttempts"]),
                   positive_int(f"{P}ssh.dialTimeoutSeconds", ssh_cfg["dialTimeoutSeconds"]))


def load() -> Settings:
    """Read the current stack's config through Pulumi and validate it."""
    import pulumi

    conf = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in ("topology", "sshUser", "dockerInstall", "dockerVersion", "namePrefix", "sshPublicKey"):
        if (value := conf.get(key)) is not None:
            raw[key] = value
    for key in ("adminCidrs", "network", "flink", "ssh"):
        if (value := conf.get_object(key)) is not None:
            raw[key] = value
    for key in ("sshPrivateKey", "weavePassword"):  # stay secret Outputs end to end
        if (value := conf.get_secret(key)) is not None:
            raw[key] = value
    providers = {
        "azure-native:location": pulumi.Config("azure-native").get("location"),
        "gcp:project": pulumi.Config("gcp").get("project"),
        "gcp:region": pulumi.Config("gcp").get("region"),
        "gcp:zone": pulumi.Config("gcp").get("zone"),
    }
    settings = parse(raw, providers, pulumi.get_stack())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
