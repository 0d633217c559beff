"""Stack settings: read once, validated into typed objects before any resource is registered.

`parse()` is pure (plain dicts in, `Settings` out) so every rule is testable without Pulumi;
`load()` feeds it from `pulumi.Config`. Every error names the field, the bad value and the fix.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Mapping, Optional

import yaml

from .checks import (DNS_NAME, ConfigError, boolean, choice, cidr, fail, image, linux_user, mapping, positive_int,
                     private_key, public_key, short)
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
MEMORY = re.compile(r"0*[1-9][0-9]*(m|g|mb|gb)", re.IGNORECASE)  # above zero
VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
WORLD_SIZED = 2 ** 24  # adminCidrs holding a /8's worth of public addresses or more are open to the world
NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (  # addresses no one on the internet has
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/3"))
MIN_SUBNET_PREFIX = 8  # network.subnet: a larger container network would shadow whole parts of the internet
MTU_RANGE = (1280, 9000)  # IPv6's minimum to jumbo frames
FIRST_LOCAL_HOST = 11  # local nodes' addresses start at the subnet's 11th (Docker's gateway takes the 1st)
DOCKER_HOSTS = ("unix://", "npipe://", "tcp://", "ssh://")  # what a docker provider's `host` takes
# flink.settings: a Flink option key, and a value the image's entrypoint passes on unchanged. It reads
# FLINK_PROPERTIES a line at a time, deletes every whitespace character, splits at the first ':', expands
# the value with envsubst and echoes it unquoted (globbing it against the working directory)
# (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/docker-entrypoint.sh:104-128).
FLINK_KEY = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
FLINK_VALUE = re.compile(r"[^\s$*?\[]+")
# Flink options the program writes itself, and what to set instead.
FLINK_OWN_KEYS = {
    **dict.fromkeys(("jobmanager.rpc.address", "jobmanager.rpc.port", "blob.server.port", "query.server.port",
                     "rest.port", "taskmanager.rpc.port", "taskmanager.data.port", "high-availability.jobmanager.port"),
                    "addresses and ports come from the port table (components/ports.py): leave them out"),
    "taskmanager.numberOfTaskSlots": "set flink-swarm:flink.taskSlots instead",
    "taskmanager.memory.process.size": "set flink-swarm:flink.taskmanagerMemory instead",
    "jobmanager.memory.process.size": "set flink-swarm:flink.jobmanagerMemory instead",
    "parallelism.default": "set flink-swarm:flink.parallelism instead",
    **dict.fromkeys(("high-availability.type", "high-availability.zookeeper.quorum", "high-availability.storageDir"),
                    "flink-swarm runs ZooKeeper high availability itself (README \"Durable jobs\"): leave it out"),
}
# Flink hides the values of keys that contain one of these (flink-core GlobalConfiguration.java
# SENSITIVE_KEYS, release-1.20): flink.settings is plain stack config, so they are refused there.
FLINK_SENSITIVE = ("password", "secret", "fs.azure.account.key", "apikey", "auth-params", "service-key", "token",
                   "basic-auth", "jaas.config", "http-headers")
STATE_STORES = ("node", "gcs", "azure")  # flink.state: the jobmanager's node, or a bucket on either cloud
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
    settings: Mapping[str, str]  # Flink options merged into both services' configuration, sorted by key
    python: bool = False  # the Flink nodes run the image with Python and PyFlink added (README "Python jobs")
    state: str = "node"  # where checkpoints, savepoints and HA metadata live: node, gcs or azure (README "Durable jobs")


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
class LocalSpec:
    """defaults.yaml `local:`: how `cloud: local` nodes are made on your own Docker Engine."""

    base_image: str  # what components/local-host/Dockerfile builds the node image on
    subnet: str  # the Docker network the program makes: nodes at its 11th address on, in topology order
    ssh_port: int  # 127.0.0.1:<ssh_port + k> reaches the k-th local node's sshd (k from 0)
    ui_port: int  # 127.0.0.1:<ui_port> reaches the Flink UI on the jobmanager node
    docker_host: Optional[str] = None  # the Engine the nodes run on; None: DOCKER_HOST or the default socket

    @property
    def gateway(self) -> str:
        """The network's gateway (this machine on it): the subnet's first address, as Docker picks it."""
        return str(ipaddress.ip_network(self.subnet)[1])

    def address(self, index: int) -> str:
        """The fixed address of the index-th local node on the program's network."""
        return str(ipaddress.ip_network(self.subnet)[FIRST_LOCAL_HOST + index])


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
    ssh_private_key: Any  # secret Output[str] (a str in tests), or None (generated, or in the ssh-agent)
    weave_password: Any  # secret Output[str], or None: one is generated
    docker_install: str
    docker_version: str  # docker-ce: the exact version installed and held; "" for docker.io
    network: NetworkSpec
    flink: FlinkSpec
    azure: AzureSpec
    gcp: GcpSpec
    ssh: SshSpec
    warnings: tuple[str, ...] = ()  # shown by `pulumi preview` and `up`, refusing nothing
    ssh_agent: bool = False  # only sshPublicKey given: connect with the deployer's ssh-agent's keys
    world_open_admin: bool = False  # flink-swarm:worldOpenAdmin: the stack opts in to world-open adminCidrs
    control_manager: str = ""  # the manager the program runs the swarm's control steps through
    local: Optional[LocalSpec] = None  # how `cloud: local` nodes are made

    def of_cloud(self, cloud: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.cloud == cloud]

    def of_role(self, role: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.role == role]


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML this program refuses, with the fix."""

    def __init__(self, problem: str, mark: Any, fix: str):
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (a few hundred bytes of them expand to gigabytes) and
    without duplicate keys (YAML would keep the last one without a word)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("anchors (&name) and aliases (*name) are not accepted", event.start_mark,
                           "write each value out in full where it is used")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses it
            if key in seen:
                raise _Refused(f"duplicate key {short(key)}", key_node.start_mark, "keep one of the entries")
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, fieldname: str) -> Any:
    """Read a UTF-8 YAML file strictly, turning every error into a ConfigError naming `fieldname`."""
    shown = repr(str(path))  # the path the user gave, in full
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        fail(fieldname, path, f"cannot read the file ({err.strerror})",
             f"point {fieldname} at a readable YAML file, e.g. "
             f"`pulumi config set {fieldname} {DEFAULT_TOPOLOGY}`", shown)
    except UnicodeDecodeError as err:
        fail(fieldname, path, f"not UTF-8 text (byte {err.start})", "save the file as UTF-8", shown)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        fail(fieldname, path, f"not valid YAML: {err}".replace("\n", " "),
             getattr(err, "fix", "correct the YAML syntax at the position shown"), shown)
    except RecursionError:
        fail(fieldname, path, "nested too deeply", "write a flat list of `nodes:` entries", shown)


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
    admin_cidrs, world_open = _admin_cidrs(cfg)
    public, private, agent = _key_pair(cfg, nodes)
    network = _network(cfg, defaults)
    flink = _flink(cfg, defaults)
    azure = _azure(defaults, providers, nodes)
    gcp = _gcp(defaults, providers, nodes)
    local = _local(cfg, defaults, nodes)
    _check_subnets(network, nodes, azure, gcp, local)
    _check_state(flink, azure, gcp)
    _check_capacity(nodes, network, admin_cidrs, azure, gcp)
    return Settings(stack, _name_prefix(cfg, stack), nodes, admin_cidrs, ssh_user, public, private,
                    cfg.get("weavePassword"), docker_install, docker_version, network, flink, azure, gcp,
                    _ssh(cfg, defaults), _quota_warnings(nodes) + _manager_warnings(nodes), agent, world_open,
                    _control_manager(cfg, nodes), local)


def _ssh_user(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    return linux_user(f"{P}sshUser", cfg.get("sshUser", defaults["sshUser"]))


def _docker(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[str, str]:
    """How Docker is installed, and for docker-ce the exact version (the distribution picks docker.io's)."""
    install = choice(f"{P}dockerInstall", cfg.get("dockerInstall", defaults["dockerInstall"]), DOCKER_INSTALLS)
    if install == "docker.io":
        if "dockerVersion" in cfg:
            fail(f"{P}dockerVersion", cfg["dockerVersion"], "docker.io installs the distribution's version",
                 "unset flink-swarm:dockerVersion, or use dockerInstall docker-ce to choose the version")
        return install, ""
    version = str(cfg.get("dockerVersion", defaults["dockerVersion"]))
    if not VERSION.fullmatch(version):
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


def _admin_cidrs(cfg: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The admin networks, and the opt-in that world-sized ones need (they expose SSH and Flink's API)."""
    cidrs = cfg.get("adminCidrs")
    if not isinstance(cidrs, list) or not cidrs:
        fail(f"{P}adminCidrs", cidrs, "required: the networks allowed to reach SSH and the Flink UI",
             "`pulumi config set --path 'flink-swarm:adminCidrs[0]' <your IP>/32`")
    admin = tuple(cidr(f"{P}adminCidrs[{i}]", c) for i, c in enumerate(cidrs))
    world_open = boolean(f"{P}worldOpenAdmin", cfg.get("worldOpenAdmin", False))
    public = _public_addresses(admin)
    if public >= WORLD_SIZED and not world_open:
        fail(f"{P}adminCidrs", list(admin), f"{public} public addresses (a /8's worth or more) would reach SSH and "
             "Flink's REST API, which has no authentication and runs any jar uploaded to it",
             "list your own networks only, e.g. your address/32; or, knowing this, opt in with "
             f"`pulumi config set {P}worldOpenAdmin true`")
    return admin, world_open


def _public_addresses(cidrs: tuple[str, ...]) -> int:
    """How many internet (public) addresses the networks hold together."""
    nets = list(ipaddress.collapse_addresses(ipaddress.ip_network(c) for c in cidrs))
    total = sum(net.num_addresses for net in nets)
    for net in nets:  # disjoint, as the NOT_PUBLIC blocks are: each overlap is one inside the other
        for block in NOT_PUBLIC:
            if net.subnet_of(block):
                total -= net.num_addresses
            elif block.subnet_of(net):
                total -= block.num_addresses
    return total


def _key_pair(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> tuple[Optional[str], Any, bool]:
    """The login key pair and whether the ssh-agent holds it: both keys given, neither (generated),
    or the public key alone (ssh-agent mode: no private key in the stack). Static nodes need a key
    already in their authorized_keys, so not a generated one."""
    public, private = cfg.get("sshPublicKey"), cfg.get("sshPrivateKey")
    set_public = f"`pulumi config set {P}sshPublicKey \"$(cat key.pub)\"`"
    set_private = f"`pulumi config set --secret {P}sshPrivateKey < key`"
    if public is None and private is not None:
        fail(f"{P}sshPublicKey", None, "sshPrivateKey is set without its public key",
             f"{set_public}, or unset sshPrivateKey")
    if public is not None:
        public = public_key(f"{P}sshPublicKey", public, f"{set_public} (the one line of the .pub file)")[0]
        private = private_key(f"{P}sshPrivateKey", private, f"{set_private} (the file without .pub)")
    statics = [n.name for n in nodes if n.cloud == "static"]
    if statics and public is None:
        fail(f"{P}sshPublicKey", None, f"static nodes {statics} need a key already in their "
             "authorized_keys; a generated key cannot be", f"{set_public}, and {set_private} or load the "
             "key into your ssh-agent (`ssh-add key`)")
    return public, private, public is not None and private is None


def _network(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> NetworkSpec:
    keys = {"driver", "subnet", "encrypted", "weavePlugin", "weaveMtu", "mtu"}
    net = _deep_merge(defaults["network"], mapping(f"{P}network", cfg.get("network"), keys))
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
        encrypted=boolean(f"{P}network.encrypted", net["encrypted"]),
        weave_plugin=image(f"{P}network.weavePlugin", net["weavePlugin"]),
        weave_mtu=weave_mtu,
        mtu=mtu,
    )


def _flink(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> FlinkSpec:
    fl = _deep_merge(defaults["flink"], mapping(f"{P}flink", cfg.get("flink"), set(defaults["flink"])))
    for key in ("taskmanagerMemory", "jobmanagerMemory"):
        if not MEMORY.fullmatch(str(fl[key])):
            fail(f"{P}flink.{key}", fl[key], "not a memory size above zero", "write e.g. 4096m or 4g")
    return FlinkSpec(
        image=image(f"{P}flink.image", fl["image"]),
        task_slots=positive_int(f"{P}flink.taskSlots", fl["taskSlots"]),
        taskmanager_memory=str(fl["taskmanagerMemory"]),
        jobmanager_memory=str(fl["jobmanagerMemory"]),
        parallelism=positive_int(f"{P}flink.parallelism", fl["parallelism"]),
        settings=_flink_settings(fl["settings"]),
        python=boolean(f"{P}flink.python", fl["python"]),
        state=choice(f"{P}flink.state", fl["state"], STATE_STORES),
    )


def _flink_settings(merged: Mapping[str, Any]) -> dict[str, str]:
    """flink.settings: the defaults with the stack's keys over them (null drops a default), as text."""
    field = f"{P}flink.settings"
    if not isinstance(merged, Mapping):
        fail(field, merged, "must be an object", "give Flink options as `key: value` pairs, e.g. "
             "`pulumi config set --path 'flink-swarm:flink.settings[\"state.backend.type\"]' rocksdb`")
    out = {}
    for key, value in merged.items():
        if not isinstance(key, str) or not FLINK_KEY.fullmatch(key):
            fail(field, key, "not a Flink option key", "write the key as Flink's docs name it, e.g. "
                 "execution.checkpointing.interval (letters, digits, '.', '-' and '_')")
        if key in FLINK_OWN_KEYS:
            fail(f"{field}.{key}", value, "set by flink-swarm itself", FLINK_OWN_KEYS[key])
        if any(word in key.lower() for word in FLINK_SENSITIVE):
            fail(f"{field}.{key}", "(not shown)", "a secret, which flink.settings would keep in plain stack "
                 "config and in the services' spec", "leave it out: flink.state gcs or azure gives the "
                 "cluster its bucket's credentials as a Docker secret; other secrets belong in your image")
        if value is None:
            continue
        if isinstance(value, (Mapping, list)):
            fail(f"{field}.{key}", value, "not a single value", "write one value; nested options as one dotted "
                 "key (`state.backend.type: rocksdb`), lists as Flink's `;`-separated text")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if not FLINK_VALUE.fullmatch(text):
            fail(f"{field}.{key}", value, "empty, or has whitespace, '$', '*', '?' or '['",
                 "the Flink image's entrypoint deletes whitespace and expands the rest: write the value "
                 "without them")
        out[key] = text
    return dict(sorted(out.items()))


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
    elif zone and not region:  # no nodes there, but a state bucket may be
        region = zone.rsplit("-", 1)[0]
    return GcpSpec(project, region, zone, d["size"], d["diskGb"], d["subnet"], d["image"])


def _check_state(flink: FlinkSpec, azure: AzureSpec, gcp: GcpSpec) -> None:
    """A state bucket needs its cloud's settings, with or without nodes there."""
    if flink.state == "gcs" and not (gcp.project and gcp.region):
        fail(f"{P}flink.state", flink.state, "a bucket on Google Cloud Storage needs gcp:project and a region "
             "(gcp:region, or gcp:zone's)", "`pulumi config set gcp:project my-project-id` and "
             "`pulumi config set gcp:region europe-west1`")
    if flink.state == "azure" and not azure.location:
        fail(f"{P}flink.state", flink.state, "a storage account on Azure needs azure-native:location",
             "`pulumi config set azure-native:location westeurope`")


def _local(cfg: Mapping[str, Any], defaults: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> LocalSpec:
    """`local:` settings; local nodes are containers of this machine, which no other cloud's node reaches."""
    field = f"{P}local"
    loc = _deep_merge(defaults["local"], mapping(field, cfg.get("local"), {*defaults["local"], "dockerHost"}))
    count = sum(n.cloud == "local" for n in nodes)
    others = sorted({n.cloud for n in nodes} - {"local"})
    if count and others:
        fail(f"{P}topology", others, "local nodes are containers on this machine's Docker Engine, which "
             f"{' and '.join(others)} nodes cannot reach", "use a topology of local nodes only, e.g. "
             "config/topologies/local.yaml, or none")
    subnet = cidr(f"{field}.subnet", loc["subnet"])
    room = ipaddress.ip_network(subnet).num_addresses - FIRST_LOCAL_HOST - 1  # and the broadcast address
    if count > room:
        fail(f"{field}.subnet", subnet, f"holds {max(room, 0)} local nodes from its {FIRST_LOCAL_HOST}th address, "
             f"not {count}", "use a larger private range, e.g. 10.213.0.0/24 (the default)")
    ssh_port, ui_port = (positive_int(f"{field}.{key}", loc[key]) for key in ("sshPort", "uiPort"))
    if ssh_port + max(count, 1) - 1 > 65535 or ui_port > 65535:
        fail(f"{field}.sshPort", ssh_port, f"the {count} nodes' SSH ports or the UI port run past 65535",
             "use ports from 1024 to 65535, e.g. sshPort 2222 and uiPort 8081 (the defaults)")
    if ssh_port <= ui_port < ssh_port + count:
        fail(f"{field}.uiPort", ui_port, f"one of the nodes' SSH ports ({ssh_port}-{ssh_port + count - 1})",
             "choose a port outside that range, e.g. 8081 (the default)")
    host = loc.get("dockerHost")
    if host is not None and (not isinstance(host, str) or not host.startswith(DOCKER_HOSTS)):
        fail(f"{field}.dockerHost", host, "not a Docker Engine address",
             "write it as DOCKER_HOST takes it, e.g. unix:///var/run/docker.sock, or unset it")
    return LocalSpec(image(f"{field}.baseImage", loc["baseImage"]), subnet, ssh_port, ui_port, host)


def _check_subnets(network: NetworkSpec, nodes: tuple[NodeSpec, ...], azure: AzureSpec, gcp: GcpSpec,
                   local: LocalSpec) -> None:
    """The containers' subnet is at most a /8 and overlaps no network or address of the nodes."""
    subnet = ipaddress.ip_network(network.subnet)
    if subnet.prefixlen < MIN_SUBNET_PREFIX:
        fail(f"{P}network.subnet", network.subnet, f"larger than a /{MIN_SUBNET_PREFIX}: containers would "
             "shadow whole parts of the internet", "use a private range such as 172.30.0.0/16 (the default)")
    clouds = {n.cloud for n in nodes}
    used = [(f"{cloud}.{key} in config/defaults.yaml", net) for cloud, key, net in (
        ("azure", "addressSpace", azure.address_space), ("gcp", "subnet", gcp.subnet),
        ("local", "subnet", local.subnet)) if cloud in clouds]
    used += [(f"node {n.name!r}'s {key}", f"{address}/32") for n in nodes if n.cloud == "static"
             for key, address in (("publicIp", n.public_ip), ("privateIp", n.private_ip))]
    for where, net in used:
        if subnet.overlaps(ipaddress.ip_network(net)):
            fail(f"{P}network.subnet", network.subnet, f"overlaps {where} ({net}): those addresses would "
                 "be routed to containers", "choose a range no node's network uses, e.g. 172.30.0.0/16")


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


def _control_manager(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> str:
    """The manager the control steps run through: the first manager unless `controlManager` names another."""
    managers = [n.name for n in nodes if n.role == "manager"]
    name = cfg.get("controlManager", managers[0])
    if name not in managers:
        fail(f"{P}controlManager", name, f"not a manager of the topology ({', '.join(managers)})",
             "name a manager that is in the swarm and up, e.g. "
             f"`pulumi config set flink-swarm:controlManager {managers[-1]}`")
    return name


def _manager_warnings(nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    managers = sum(n.role == "manager" for n in nodes)
    if managers > 1 and managers % 2 == 0:
        return (f"{managers} managers: an even number above one adds no fault tolerance to the swarm's Raft "
                "quorum (all of 2 must be up, 3 of 4); fine as a step between 1, 3 and 5 managers",)
    return ()


def _quota_warnings(nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    azure = sum(n.cloud == "azure" for n in nodes)
    if azure <= AZURE_PUBLIC_IPS:
        return ()
    return (f"{azure} Azure nodes need {azure} Standard public IPs in one region; the default quota is "
            f"{AZURE_PUBLIC_IPS} per region (1000 on Enterprise Agreements). Check yours with "
            "`az network list-usages --location <region>` and ask for more before `pulumi up`.",)


def _name_prefix(cfg: Mapping[str, Any], stack: str) -> str:
    prefix = cfg.get("namePrefix") or re.sub(r"[^a-z0-9-]+", "-", stack.lower())[:MAX_PREFIX].strip("-") or "fs"
    if not isinstance(prefix, str) or not DNS_NAME.fullmatch(prefix) or len(prefix) > MAX_PREFIX:
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
    for key in ("topology", "sshUser", "dockerInstall", "dockerVersion", "namePrefix", "sshPublicKey",
                "controlManager"):
        if (value := conf.get(key)) is not None:
            raw[key] = value
    for key in ("adminCidrs", "network", "flink", "ssh", "worldOpenAdmin", "local"):
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
    if settings.ssh_agent and not os.environ.get("SSH_AUTH_SOCK"):
        pulumi.log.warn(f"only {P}sshPublicKey is set, so SSH uses your ssh-agent's keys, but SSH_AUTH_SOCK is "
                        "not set: start an agent and `ssh-add` the key before `pulumi up`")
    return settings
