"""Who reaches the nodes and how: the SSH user and key pair, the admin networks, the name prefix
and how long SSH keeps dialling."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping, Optional

from .checks import DNS_NAME, boolean, cidr, fail, linux_user, mapping, positive_int, private_key, public_key
from .topology import AZURE, LOCAL, STATIC, NodeSpec
from .types import OWN, SshSpec
from .yamlfile import deep_merge

MAX_PREFIX = 19  # GCP names are at most 63: "<prefix>-<node>-ip" = 19 + 1 + 40 + 3
WORLD_SIZED = 2 ** 24  # adminCidrs holding a /8's worth of public addresses or more are open to the world
NOT_PUBLIC = tuple(ipaddress.ip_network(block) for block in (  # addresses no one on the internet has
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/3"))
# adminCidrs inside these reach nothing a firewall admits: (name, block, allowed when every node is local)
NOT_ADMIN = (("loopback", "127.0.0.0/8", True), ("link-local", "169.254.0.0/16", False),
             ("multicast", "224.0.0.0/4", False), ("reserved", "240.0.0.0/4", False),
             ("\"this network\"", "0.0.0.0/8", False))
DIAL_ATTEMPTS, DIAL_TIMEOUT = 1000, 600  # upper bounds: a host that has not answered by then will not
# Azure refuses these admin user names on a VM (compute API OSProfile.adminUsername, "Disallowed values").
AZURE_RESERVED_USERS = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
    "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"})


def ssh_user(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    return linux_user(f"{OWN}sshUser", cfg.get("sshUser", defaults["sshUser"]))


def check_azure_user(ssh_user: str, nodes: tuple[NodeSpec, ...]) -> None:
    if ssh_user.lower() in AZURE_RESERVED_USERS and any(node.cloud == AZURE for node in nodes):
        fail(f"{OWN}sshUser", ssh_user, "Azure refuses this admin user name on a VM",
             "choose another, e.g. `pulumi config set flink-swarm:sshUser ubuntu`")


def admin_cidrs(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> tuple[tuple[str, ...], bool]:
    """The admin networks (they reach SSH; Flink's REST API only through it), and the opt-in that
    world-sized ones need."""
    cidrs = cfg.get("adminCidrs")
    if not isinstance(cidrs, list) or not cidrs:
        fail(f"{OWN}adminCidrs", cidrs, "required: a list of the networks allowed to reach SSH"
             if not cidrs else "must be a list of networks", "`pulumi config set --path "
             "'flink-swarm:adminCidrs[0]' <your IP>/32`")
    admin = tuple(cidr(f"{OWN}adminCidrs[{index}]", given) for index, given in enumerate(cidrs))
    _check_admin_networks(admin, any(node.cloud == LOCAL for node in nodes))
    world_open = boolean(f"{OWN}worldOpenAdmin", cfg.get("worldOpenAdmin", False))
    public = _public_addresses(admin)
    if public >= WORLD_SIZED and not world_open:
        fail(f"{OWN}adminCidrs", list(admin), f"{public} public addresses (a /8's worth or more) would reach every node's SSH "
             "(and through it Flink's REST API, which runs any jar uploaded to it)",
             "list your own networks only, e.g. your address/32; or, knowing this, opt in with "
             f"`pulumi config set {OWN}worldOpenAdmin true`")
    return admin, world_open


def _check_admin_networks(admin: tuple[str, ...], local: bool) -> None:
    """No network that no client can be in (loopback only for local nodes), none listed twice or inside another."""
    nets = [ipaddress.ip_network(net) for net in admin]
    for index, net in enumerate(nets):
        field = f"{OWN}adminCidrs[{index}]"
        for name, block, local_only in NOT_ADMIN:
            if net.subnet_of(ipaddress.ip_network(block)) and not (local_only and local):
                fail(field, admin[index], f"a {name} network: no client reaches the nodes from there",
                     "write the public address (or network) you connect from, e.g. 203.0.113.7/32")
        for other, earlier in enumerate(nets[:index]):
            if net.subnet_of(earlier) or earlier.subnet_of(net):
                fail(field, admin[index], f"the same addresses as adminCidrs[{other}] ({admin[other]}), or "
                     "inside them", "list each network once: remove the duplicate or the narrower one")


def _public_addresses(cidrs: tuple[str, ...]) -> int:
    """How many internet (public) addresses the networks hold together."""
    nets = list(ipaddress.collapse_addresses(ipaddress.ip_network(network) for network in cidrs))
    total = sum(net.num_addresses for net in nets)
    for net in nets:  # disjoint, as the NOT_PUBLIC blocks are: each overlap is one inside the other
        for block in NOT_PUBLIC:
            if net.subnet_of(block):
                total -= net.num_addresses
            elif block.subnet_of(net):
                total -= block.num_addresses
    return total


def key_pair(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> tuple[Optional[str], Any, bool]:
    """The login key pair and whether the ssh-agent holds it: both keys given, neither (generated),
    or the public key alone (ssh-agent mode: no private key in the stack). Static nodes need a key
    already in their authorized_keys, so not a generated one."""
    public, private = cfg.get("sshPublicKey"), cfg.get("sshPrivateKey")
    set_public = f"`pulumi config set {OWN}sshPublicKey \"$(cat key.pub)\"`"
    set_private = f"`pulumi config set --secret {OWN}sshPrivateKey < key`"
    if public is None and private is not None:
        fail(f"{OWN}sshPublicKey", None, "sshPrivateKey is set without its public key",
             f"{set_public}, or unset sshPrivateKey")
    if public is not None:
        public = public_key(f"{OWN}sshPublicKey", public, f"{set_public} (the one line of the .pub file)")[0]
        if private is not None:
            private = private_key(f"{OWN}sshPrivateKey", private, f"{set_private} (the file without .pub)")
    statics = [node.name for node in nodes if node.cloud == STATIC]
    if statics and public is None:
        fail(f"{OWN}sshPublicKey", None, f"static nodes {statics} need a key already in their "
             "authorized_keys; a generated key cannot be", f"{set_public}, and {set_private} or load the "
             "key into your ssh-agent (`ssh-add key`)")
    return public, private, public is not None and private is None


def name_prefix(cfg: Mapping[str, Any], stack: str) -> str:
    """`namePrefix`, or the stack name made DNS-safe; an empty one is refused, not replaced."""
    if cfg.get("namePrefix") == "":
        fail(f"{OWN}namePrefix", "", "empty: resource names would start with '-'", "unset it to use the "
             f"stack's name (`pulumi config rm {OWN}namePrefix`) or give one, e.g. dev-alice")
    prefix = cfg.get("namePrefix", re.sub(r"[^a-z0-9-]+", "-", stack.lower())[:MAX_PREFIX].strip("-") or "fs")
    if not isinstance(prefix, str) or not DNS_NAME.fullmatch(prefix) or len(prefix) > MAX_PREFIX:
        fail(f"{OWN}namePrefix", prefix, f"not a DNS-safe prefix of at most {MAX_PREFIX} characters",
             "use lowercase letters, digits and '-', e.g. dev-alice")
    return prefix


def ssh(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> SshSpec:
    ssh_cfg = deep_merge(defaults["ssh"], mapping(f"{OWN}ssh", cfg.get("ssh"), set(defaults["ssh"])))
    return SshSpec(positive_int(f"{OWN}ssh.dialAttempts", ssh_cfg["dialAttempts"], 1, DIAL_ATTEMPTS),
                   positive_int(f"{OWN}ssh.dialTimeoutSeconds", ssh_cfg["dialTimeoutSeconds"], 1, DIAL_TIMEOUT,
                                "seconds, each dial"))
