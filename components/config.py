"""Stack settings: read once, validated into typed objects before any resource is registered.

`parse()` is pure (plain dicts in, `Settings` out) so every rule is testable without Pulumi;
`load()` feeds it from `pulumi.Config`. Every error names the field, the bad value and the fix.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from .ports import CLUSTER, rules_for

PROJECT = "flink-swarm"
ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "defaults.yaml"
DEFAULT_TOPOLOGY = "config/topologies/blog.yaml"

CLOUDS = ("azure", "gcp", "static")
ROLES = ("manager", "jobmanager", "worker")
DRIVERS = ("weave", "overlay")
DOCKER_INSTALLS = ("docker-ce", "docker.io")
DNS_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 40  # node names become hostnames and cloud resource names with a prefix and suffixes
MAX_PREFIX = 19  # GCP names are at most 63: "<prefix>-<node>-ip" = 19 + 1 + 40 + 3
LABEL = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_./:]*$")
AZURE_NSG_SOURCES = 4000  # Azure: addresses and ranges in one network security group's rules
RESERVED_ADDRESSES = {"azure": 5, "gcp": 4}  # per subnet
MEMORY = re.compile(r"^[0-9]+(m|g|mb|gb)$", re.IGNORECASE)

NODE_KEYS = {"name", "cloud", "role", "count", "size", "labels", "publicIp", "privateIp", "user", "port"}
STATIC_ONLY_KEYS = {"publicIp", "privateIp", "user", "port"}


class ConfigError(ValueError):
    """A stack setting or topology entry is wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class NodeSpec:
    """One machine of the topology after `count` expansion."""

    name: str
    cloud: str
    role: str
    size: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    public_ip: Optional[str] = None  # static nodes only
    private_ip: Optional[str] = None  # static nodes only (defaults to public_ip)
    user: Optional[str] = None  # static nodes only (defaults to sshUser)
    port: int = 22


@dataclass(frozen=True)
class NetworkSpec:
    driver: str
    subnet: str
    encrypted: bool
    weave_plugin: str
    weave_mtu: int


@dataclass(frozen=True)
class FlinkSpec:
    image: str
    task_slots: int
    taskmanager_memory: str
    jobmanager_memory: str
    parallelism: int


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
    network: NetworkSpec
    flink: FlinkSpec
    azure: Mapping[str, Any]  # defaults.yaml `azure:` plus `location`
    gcp: Mapping[str, Any]  # defaults.yaml `gcp:` plus `project`, `region`, `zone`
    ssh: Mapping[str, int]

    def of_cloud(self, cloud: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.cloud == cloud]

    def of_role(self, role: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.role == role]


def _fail(fieldname: str, value: Any, problem: str, fix: str) -> None:
    raise ConfigError(f"{fieldname}: {problem} (got {value!r}). Fix: {fix}")


def read_yaml(path: Path, fieldname: str) -> Any:
    """Read a YAML file, turning I/O and syntax errors into a ConfigError naming `fieldname`."""
    try:
        text = path.read_text()
    except OSError as err:
        _fail(fieldname, str(path), f"cannot read the file ({err.strerror})",
              f"point {fieldname} at a readable YAML file, e.g. "
              f"`pulumi config set {fieldname} {DEFAULT_TOPOLOGY}`")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        _fail(fieldname, str(path), f"not valid YAML: {err}".replace("\n", " "),
              "correct the YAML syntax at the position shown")


def _cidr(fieldname: str, value: Any) -> str:
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        _fail(fieldname, value, f"not a valid CIDR ({err})",
              "write an IPv4 network such as 203.0.113.7/32 or 198.51.100.0/24")
    if net.version != 4:
        _fail(fieldname, value, "only IPv4 is supported", "give the IPv4 CIDR of the same network")
    return str(net)


def _ip(fieldname: str, value: Any) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        _fail(fieldname, value, "not an IPv4 address", "write the host's address, e.g. 203.0.113.10")


def _positive_int(fieldname: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(fieldname, value, f"must be a whole number of at least {minimum}",
              f"set {fieldname} to {max(minimum, 1)} or more")
    return value


def _choice(fieldname: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        _fail(fieldname, value, "unknown value", f"use one of: {', '.join(allowed)}")
    return value


def _mapping(fieldname: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        _fail(fieldname, value, "must be an object", f"give {fieldname} as key: value pairs")
    unknown = sorted(set(value) - allowed)
    if unknown:
        _fail(f"{fieldname}.{unknown[0]}", value[unknown[0]], "unknown key",
              f"use only: {', '.join(sorted(allowed))}")
    return value


def _dns_name(fieldname: str, value: Any) -> str:
    if not isinstance(value, str) or not DNS_NAME.match(value) or len(value) > MAX_NAME:
        _fail(fieldname, value, f"not a DNS-safe name of at most {MAX_NAME} characters",
              "use lowercase letters, digits and '-', starting with a letter, e.g. azure-swarm-worker")
    return value


def expand_topology(doc: Any, default_user: str, fieldname: str = "flink-swarm:topology") -> tuple[NodeSpec, ...]:
    """Validate a topology document and expand `count:` groups into nodes."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("nodes"), list) or not doc["nodes"]:
        _fail(fieldname, doc, "the topology must be a mapping with a non-empty `nodes:` list",
              f"start the file with `nodes:` followed by entries, see {DEFAULT_TOPOLOGY}")
    nodes: list[NodeSpec] = []
    for i, entry in enumerate(doc["nodes"]):
        where = f"{fieldname} nodes[{i}]"
        entry = _mapping(where, entry, NODE_KEYS)
        name = _dns_name(f"{where}.name", entry.get("name"))
        where = f"{fieldname} node {name!r}"
        cloud = _choice(f"{where}.cloud", entry.get("cloud"), CLOUDS)
        role = _choice(f"{where}.role", entry.get("role"), ROLES)
        labels = entry.get("labels") or {}
        if not isinstance(labels, Mapping):
            _fail(f"{where}.labels", labels, "must be an object", "write labels as key: value pairs")
        labels = {str(k): str(v) for k, v in labels.items()}
        for key, value in labels.items():
            if not LABEL.match(key) or not LABEL.match(value):
                _fail(f"{where}.labels.{key}", value, "labels are letters, digits and . _ - / : only",
                      "e.g. `labels: {disk: ssd}`")
        for key in ("role", "cloud", "name"):
            if key in labels:
                _fail(f"{where}.labels.{key}", labels[key], "this label is set by the program",
                      f"remove it; `{key}` is always the node's own {key}")
        size = entry.get("size")
        if cloud == "static":
            if size is not None:
                _fail(f"{where}.size", size, "static nodes have no machine size", "remove `size`")
            if "publicIp" not in entry:
                _fail(f"{where}.publicIp", None, "a static node needs the address it is reached at",
                      "add `publicIp: <the host's public IPv4 address>`")
            public_ip = _ip(f"{where}.publicIp", entry["publicIp"])
            private_ip = _ip(f"{where}.privateIp", entry.get("privateIp", public_ip))
            user = entry.get("user", default_user)
            if not isinstance(user, str) or not user:
                _fail(f"{where}.user", user, "not a user name", "give the SSH login user, e.g. ubuntu")
            port = _positive_int(f"{where}.port", entry.get("port", 22))
            if port > 65535:
                _fail(f"{where}.port", port, "not a TCP port", "use the host's SSH port, 1-65535")
        else:
            extra = sorted(STATIC_ONLY_KEYS & set(entry))
            if extra:
                _fail(f"{where}.{extra[0]}", entry[extra[0]], f"only static nodes take `{extra[0]}`",
                      f"remove it; {cloud} nodes get their addresses from the cloud")
            if size is not None and (not isinstance(size, str) or not size):
                _fail(f"{where}.size", size, "not a machine size", "e.g. Standard_D2s_v5 or e2-standard-2")
            public_ip = private_ip = user = None
            port = 22
        if "count" in entry:
            count = entry["count"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                _fail(f"{where}.count", count, "must be a whole number, 0 or more",
                      "write the number of nodes in this group, e.g. `count: 2`")
            if count and cloud == "static":
                _fail(f"{where}.count", count, "static nodes are single hosts with their own address",
                      "list each static host as its own entry, without `count`")
            names = [f"{name}-{k}" for k in range(1, count + 1)]
        else:
            names = [name]
        for node_name in names:
            _dns_name(f"{where}.name", node_name)
            nodes.append(NodeSpec(node_name, cloud, role, size, labels, public_ip, private_ip, user, port))

    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            _fail(f"{fieldname} node {node.name!r}", node.name, "duplicate node name",
                  "give every node (after `count` expansion to name-1..name-N) a unique name")
        seen.add(node.name)
    by_role = {role: [n.name for n in nodes if n.role == role] for role in ROLES}
    if not by_role["manager"]:
        _fail(fieldname, [n.name for n in nodes], "no node has role manager",
              "add a node with `role: manager` (it initialises the swarm)")
    managers = len(by_role["manager"])
    if managers > 1 and managers % 2 == 0:
        _fail(fieldname, by_role["manager"], f"{managers} managers: an even number above one adds no "
              "fault tolerance to the swarm's Raft quorum", "use 1, 3 or 5 managers")
    if len(by_role["jobmanager"]) != 1:
        _fail(fieldname, by_role["jobmanager"], "exactly one node must have role jobmanager",
              "give one node `role: jobmanager`; it hosts the Flink jobmanager")
    if not by_role["worker"]:
        _fail(fieldname, [n.name for n in nodes], "no node has role worker",
              "add nodes with `role: worker`; each runs one Flink taskmanager")
    return tuple(nodes)


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
    p = f"{PROJECT}:"

    ssh_user = cfg.get("sshUser", defaults["sshUser"])
    if not isinstance(ssh_user, str) or not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", ssh_user):
        _fail(f"{p}sshUser", ssh_user, "not a Linux user name", "e.g. ubuntu")
    docker_install = _choice(f"{p}dockerInstall", cfg.get("dockerInstall", defaults["dockerInstall"]),
                             DOCKER_INSTALLS)

    topology = cfg.get("topology", DEFAULT_TOPOLOGY)
    path = Path(topology) if Path(str(topology)).is_absolute() else ROOT / str(topology)
    nodes = expand_topology(read_yaml(path, f"{p}topology"), ssh_user, f"{p}topology")

    cidrs = cfg.get("adminCidrs")
    if not isinstance(cidrs, list) or not cidrs:
        _fail(f"{p}adminCidrs", cidrs, "required: the networks allowed to reach SSH and the Flink UI",
              "`pulumi config set --path 'flink-swarm:adminCidrs[0]' <your IP>/32`")
    admin_cidrs = tuple(_cidr(f"{p}adminCidrs[{i}]", c) for i, c in enumerate(cidrs))

    public_key, private_key = cfg.get("sshPublicKey"), cfg.get("sshPrivateKey")
    has_public, has_private = public_key is not None, private_key is not None
    if has_public != has_private:
        missing = "sshPrivateKey" if has_public else "sshPublicKey"
        _fail(f"{p}{missing}", None, "sshPublicKey and sshPrivateKey go together",
              f"set {p}{missing} too (`--secret` for the private key), or unset both to generate a pair")
    statics = [n.name for n in nodes if n.cloud == "static"]
    if statics and not has_public:
        _fail(f"{p}sshPrivateKey", None, f"static nodes {statics} need a key already in their "
              "authorized_keys; a generated key cannot be",
              "`pulumi config set flink-swarm:sshPublicKey \"$(cat key.pub)\"` and "
              "`pulumi config set --secret flink-swarm:sshPrivateKey < key`")

    net_cfg = _mapping(f"{p}network", cfg.get("network"), {"driver", "subnet", "encrypted", "weavePlugin", "weaveMtu"})
    net = _deep_merge(defaults["network"], net_cfg)
    if not isinstance(net["encrypted"], bool):
        _fail(f"{p}network.encrypted", net["encrypted"], "must be true or false", "write true or false")
    network = NetworkSpec(
        driver=_choice(f"{p}network.driver", net["driver"], DRIVERS),
        subnet=_cidr(f"{p}network.subnet", net["subnet"]),
        encrypted=net["encrypted"],
        weave_plugin=str(net["weavePlugin"]),
        weave_mtu=_positive_int(f"{p}network.weaveMtu", net["weaveMtu"], 576),
    )

    fl_cfg = _mapping(f"{p}flink", cfg.get("flink"), set(defaults["flink"]))
    fl = _deep_merge(defaults["flink"], fl_cfg)
    for key in ("taskmanagerMemory", "jobmanagerMemory"):
        if not MEMORY.match(str(fl[key])):
            _fail(f"{p}flink.{key}", fl[key], "not a memory size", "write e.g. 4096m or 4g")
    if not isinstance(fl["image"], str) or not fl["image"] or " " in fl["image"]:
        _fail(f"{p}flink.image", fl["image"], "not an image reference", "e.g. flink:1.20.3-java17")
    flink = FlinkSpec(
        image=fl["image"],
        task_slots=_positive_int(f"{p}flink.taskSlots", fl["taskSlots"]),
        taskmanager_memory=str(fl["taskmanagerMemory"]),
        jobmanager_memory=str(fl["jobmanagerMemory"]),
        parallelism=_positive_int(f"{p}flink.parallelism", fl["parallelism"]),
    )

    azure = dict(defaults["azure"], location=providers.get("azure-native:location"))
    if any(n.cloud == "azure" for n in nodes) and not azure["location"]:
        _fail("azure-native:location", None, "the topology has Azure nodes but no Azure region is set",
              "`pulumi config set azure-native:location westeurope`")
    gcp = dict(defaults["gcp"], project=providers.get("gcp:project"),
               zone=providers.get("gcp:zone"), region=providers.get("gcp:region"))
    if any(n.cloud == "gcp" for n in nodes):
        for key, example in (("project", "my-project-id"), ("zone", "europe-west1-b")):
            if not gcp[key]:
                _fail(f"gcp:{key}", None, "the topology has Google Cloud nodes but no "
                      f"gcp:{key} is set", f"`pulumi config set gcp:{key} {example}`")
        zone_region = gcp["zone"].rsplit("-", 1)[0]
        if gcp["region"] and gcp["region"] != zone_region:
            _fail("gcp:zone", gcp["zone"], f"not in gcp:region {gcp['region']!r}",
                  f"use a zone of {gcp['region']} or set gcp:region {zone_region}")
        gcp["region"] = zone_region

    for cloud, settings_of in (("azure", azure), ("gcp", gcp)):
        count = sum(n.cloud == cloud for n in nodes)
        room = ipaddress.ip_network(settings_of["subnet"]).num_addresses - RESERVED_ADDRESSES[cloud]
        if count > room:
            _fail(f"{p}topology", count, f"more {cloud} nodes than the {cloud} subnet {settings_of['subnet']} "
                  f"holds ({room})", f"use fewer nodes or a larger `{cloud}.subnet` in config/defaults.yaml")
    if any(n.cloud == "azure" for n in nodes):
        sources = sum(rule.scope == CLUSTER for _, rule in rules_for(network)) * (len(nodes) + 2)
        if sources > AZURE_NSG_SOURCES:
            _fail(f"{p}topology", len(nodes), f"Azure's network security group would list {sources} source "
                  f"addresses, over its limit of {AZURE_NSG_SOURCES}",
                  "use fewer nodes (at most 498 with weave, 569 with an encrypted overlay, 664 with a plain one)")

    prefix = cfg.get("namePrefix") or re.sub(r"[^a-z0-9-]+", "-", stack.lower())[:MAX_PREFIX].strip("-") or "fs"
    if not DNS_NAME.match(prefix) or len(prefix) > MAX_PREFIX:
        _fail(f"{p}namePrefix", prefix, f"not a DNS-safe prefix of at most {MAX_PREFIX} characters",
              "use lowercase letters, digits and '-', e.g. dev-alice")

    ssh_cfg = _deep_merge(defaults["ssh"], _mapping(f"{p}ssh", cfg.get("ssh"), set(defaults["ssh"])))
    ssh = {"dial_attempts": _positive_int(f"{p}ssh.dialAttempts", ssh_cfg["dialAttempts"]),
           "dial_timeout": _positive_int(f"{p}ssh.dialTimeoutSeconds", ssh_cfg["dialTimeoutSeconds"])}
    return Settings(stack, prefix, nodes, admin_cidrs, ssh_user, public_key, private_key,
                    cfg.get("weavePassword"), docker_install, network, flink, azure, gcp, ssh)


def load() -> Settings:
    """Read the current stack's config through Pulumi and validate it."""
    import pulumi

    conf = pulumi.Config(PROJECT)
    keys = ("topology", "adminCidrs", "sshUser", "dockerInstall", "network", "flink", "ssh", "namePrefix")
    raw: dict[str, Any] = {}
    for key in keys:
        value = conf.get_object(key) if key in ("adminCidrs", "network", "flink", "ssh") else conf.get(key)
        if value is not None:
            raw[key] = value
    for key in ("sshPrivateKey", "weavePassword"):  # stay secret Outputs end to end
        value = conf.get_secret(key)
        if value is not None:
            raw[key] = value
    if conf.get("sshPublicKey") is not None:
        raw["sshPublicKey"] = conf.get("sshPublicKey")
    providers = {
        "azure-native:location": pulumi.Config("azure-native").get("location"),
        "gcp:project": pulumi.Config("gcp").get("project"),
        "gcp:region": pulumi.Config("gcp").get("region"),
        "gcp:zone": pulumi.Config("gcp").get("zone"),
    }
    return parse(raw, providers, pulumi.get_stack())
