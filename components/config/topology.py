"""The topology: which machines the cluster has, on which cloud, in which role.

`expand_topology` validates a topology document (the YAML under `flink-swarm:topology`) and expands
`count:` groups into one `NodeSpec` per machine. Every error names the field, the value and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .checks import (KEY_TYPES, boolean, choice, clip, dns_name, fail, ip, keys, linux_user, mapping,
                     positive_int, public_key)

DEFAULT_TOPOLOGY = "config/topologies/blog.yaml"
AZURE, GCP, STATIC, LOCAL = CLOUDS = ("azure", "gcp", "static", "local")  # local: containers on your Docker Engine
MANAGER, JOBMANAGER, WORKER = ROLES = ("manager", "jobmanager", "worker")
FLINK_ROLES = (JOBMANAGER, WORKER)  # the roles that run Flink, so pull its image
LABEL = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_./:]*")
STATIC_ONLY_KEYS = {"publicIp", "privateIp", "user", "port", "hostKey", "firewall"}
NODE_KEYS = {"name", "cloud", "role", "count", "size", "labels", *STATIC_ONLY_KEYS}
MAX_COUNT = 5000  # per group: more than either cloud's subnet holds (4091 Azure, 4092 GCP addresses)


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
    host_key: Optional[str] = None  # static nodes only: `<type> <base64>` of the host's SSH host key
    firewall: bool = True  # static nodes: False when the host's owner manages its firewall


def expand_topology(doc: Any, default_user: str, fieldname: str = "flink-swarm:topology") -> tuple[NodeSpec, ...]:
    """Validate a topology document and expand `count:` groups into nodes."""
    if isinstance(doc, Mapping):
        mapping(fieldname, doc, {"nodes"})  # a misspelt `node:` is named, with the key it should be
    if not isinstance(doc, Mapping) or not isinstance(doc.get("nodes"), list) or not doc["nodes"]:
        fail(fieldname, doc, "the topology must be a mapping with a non-empty `nodes:` list",
             f"start the file with `nodes:` followed by entries, see {DEFAULT_TOPOLOGY}")
    nodes = [node for i, entry in enumerate(doc["nodes"])
             for node in _entry_nodes(entry, f"{fieldname} nodes[{i}]", fieldname, default_user)]
    _check_unique(nodes, fieldname)
    _check_roles(nodes, fieldname)
    return tuple(nodes)


def _entry_nodes(entry: Any, where: str, fieldname: str, default_user: str) -> list[NodeSpec]:
    """The nodes of one topology entry (several with `count`)."""
    entry = mapping(where, entry, NODE_KEYS)
    name = dns_name(f"{where}.name", entry.get("name"))
    where = f"{fieldname} node {name!r}"
    cloud = choice(f"{where}.cloud", entry.get("cloud"), CLOUDS)
    role = choice(f"{where}.role", entry.get("role"), ROLES)
    labels = _labels(where, entry.get("labels"))
    size = entry.get("size")
    if cloud in (STATIC, LOCAL) and size is not None:
        fail(f"{where}.size", size, f"{cloud} nodes have no machine size", "remove `size`")
    if cloud == STATIC:
        access = _static_access(where, entry, default_user)
    else:
        extra = sorted(STATIC_ONLY_KEYS & set(entry))
        if extra:
            fail(f"{where}.{extra[0]}", entry[extra[0]], f"only static nodes take `{extra[0]}`",
                 f"remove it; {cloud} nodes get their addresses, login, host key and firewall from the program")
        if size is not None and (not isinstance(size, str) or not size):
            fail(f"{where}.size", size, "not a machine size", "e.g. Standard_D2s_v5 or e2-standard-2")
        access = {}
    return [NodeSpec(dns_name(f"{where}.name", node_name), cloud, role, size, labels, **access)
            for node_name in _names(where, entry, name, cloud)]


def _labels(where: str, labels: Any) -> dict[str, str]:
    """Extra swarm node labels; `role`, `cloud` and `name` are the program's own."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        fail(f"{where}.labels", labels, "must be an object", "write labels as key: value pairs")
    keys(f"{where}.labels", labels)
    for key, value in labels.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            fail(f"{where}.labels.{clip(key)}", value, "a label's value must be text or a whole number",
                 "give it a value in quotes, e.g. `disk: \"ssd\"`, or remove the label")
        if not LABEL.fullmatch(key) or not LABEL.fullmatch(str(value)):
            fail(f"{where}.labels.{clip(key)}", value, "labels are letters, digits and . _ - / : only",
                 "e.g. `labels: {disk: ssd}`")
    for key in ("role", "cloud", "name"):
        if key in labels:
            fail(f"{where}.labels.{key}", labels[key], "this label is set by the program",
                 f"remove it; `{key}` is always the node's own {key}")
    return {key: str(value) for key, value in labels.items()}


def _static_access(where: str, entry: Mapping[str, Any], default_user: str) -> dict[str, Any]:
    """A static host's addresses, SSH login and host key, and whether the program manages its firewall."""
    if "publicIp" not in entry:
        fail(f"{where}.publicIp", None, "a static node needs the address it is reached at",
             "add `publicIp: <the host's public IPv4 address>`")
    public_ip = ip(f"{where}.publicIp", entry["publicIp"])
    port = positive_int(f"{where}.port", entry.get("port", 22), 1, 65535, "the host's SSH port")
    return {"public_ip": public_ip, "private_ip": ip(f"{where}.privateIp", entry.get("privateIp", public_ip)),
            "user": linux_user(f"{where}.user", entry.get("user", default_user)), "port": port,
            "host_key": _host_key(f"{where}.hostKey", entry.get("hostKey"), public_ip, port),
            "firewall": boolean(f"{where}.firewall", entry.get("firewall", True))}


def _host_key(fieldname: str, value: Any, public_ip: str, port: int) -> str:
    """`<type> <base64>` of a static host's SSH host key; a known_hosts line's host field is dropped."""
    scan = f"ssh-keyscan -t ed25519{'' if port == 22 else f' -p {port}'} {public_ip}"
    fix = (f"add `hostKey: ssh-ed25519 AAAA...` as `{scan}` prints it, once its fingerprint (`{scan} | ssh-keygen "
           "-lf -`) is the one `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the host itself")
    if value is None:
        fail(fieldname, None, "required: every connection to the host checks its SSH host key", fix)
    words = value.split(None, 2) if isinstance(value, str) else []
    if len(words) == 3 and words[1] in KEY_TYPES:  # `<host> <type> <base64>`, as ssh-keyscan prints it
        value = f"{words[1]} {words[2]}"
    _, key_type, blob = public_key(fieldname, value, fix)
    return f"{key_type} {blob}"


def _names(where: str, entry: Mapping[str, Any], name: str, cloud: str) -> list[str]:
    """`name`, or `name-1` .. `name-N` for `count: N`."""
    if "count" not in entry:
        return [name]
    count = entry["count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        fail(f"{where}.count", count, "must be a whole number, 0 or more",
             "write the number of nodes in this group, e.g. `count: 2`")
    if count > MAX_COUNT:
        fail(f"{where}.count", count, f"more than {MAX_COUNT} nodes in one group, more than a cloud's subnet holds",
             "write the number of machines you mean; split a larger cluster into groups on several clouds")
    if count and cloud == STATIC:
        fail(f"{where}.count", count, "static nodes are single hosts with their own address",
             "list each static host as its own entry, without `count`")
    return [f"{name}-{number}" for number in range(1, count + 1)]


def _check_unique(nodes: list[NodeSpec], fieldname: str) -> None:
    """Unique node names, and static nodes' public IPs (each node advertises its own to the swarm)."""
    names: set[str] = set()
    addresses: dict[str, str] = {}
    for node in nodes:
        if node.name in names:
            fail(f"{fieldname} node {node.name!r}", node.name, "duplicate node name",
                 "give every node (after `count` expansion to name-1..name-N) a unique name")
        names.add(node.name)
        if node.public_ip in addresses:
            fail(f"{fieldname} node {node.name!r}.publicIp", node.public_ip,
                 f"node {addresses[node.public_ip]!r} has the same address",
                 "list each host once: every swarm node needs its own address")
        if node.public_ip is not None:
            addresses[node.public_ip] = node.name


def _check_roles(nodes: list[NodeSpec], fieldname: str) -> None:
    """At least one manager (an even number is only warned of: swarm.manager_warnings), exactly one
    jobmanager, at least one worker."""
    by_role = {role: [node.name for node in nodes if node.role == role] for role in ROLES}
    if not by_role[MANAGER]:
        fail(fieldname, [node.name for node in nodes], "no node has role manager",
             "add a node with `role: manager` (it initialises the swarm)")
    if len(by_role[JOBMANAGER]) != 1:
        fail(fieldname, by_role[JOBMANAGER], "exactly one node must have role jobmanager",
             "give one node `role: jobmanager`; it hosts the Flink jobmanager")
    if not by_role[WORKER]:
        fail(fieldname, [node.name for node in nodes], "no node has role worker",
             "add nodes with `role: worker`; each runs one Flink taskmanager")
