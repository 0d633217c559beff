"""Field checks shared by every settings reader, and the one error they raise.

Each check returns the clean value or raises a `ConfigError` that names the field, the bad value
(shortened; never a key's content) and the fix. Nothing here knows the project's settings: the
callers pass the field's full name.
"""
from __future__ import annotations

import base64
import difflib
import ipaddress
import re
import reprlib
from typing import Any, Mapping, Optional

import pulumi

DNS_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
MAX_NAME = 40  # node names become hostnames and cloud resource names with a prefix and suffixes
LINUX_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
SHOWN = 60  # characters of a bad value an error shows
# A Docker image reference (distribution/reference's grammar): [host[:port]/]path[:tag][@sha256:digest].
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(rf"(?:{_HOST}/)?{_PATH}(?:/{_PATH})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
                   r"(?:@sha256:[0-9a-f]{64})?")
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
MIN_RSA_BITS = 2048  # NIST SP 800-131A's minimum since 2014
PUBLIC_KEY = re.compile(rf"({'|'.join(map(re.escape, KEY_TYPES))})[ \t]+"
                        r"((?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)(?:[ \t][^\r\n]*)?")
PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9]+ |)PRIVATE KEY-----\r?\n(?:(?!-----)[\s\S])+"
                         r"-----END \1PRIVATE KEY-----")
# Container networks (network.subnet, local.subnet): private or shared (CGNAT) ranges, never public ones,
# and not the networks Docker makes on every swarm node (docker0; docker_gwbridge, the first of Docker's
# pools; the swarm's routing-mesh network `ingress`).
PRIVATE = tuple(map(ipaddress.ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")))
DOCKER_HOST_NETWORKS = {"172.17.0.0/16": "Docker's default bridge docker0", "172.18.0.0/16": "docker_gwbridge",
                        "10.0.0.0/24": "the swarm's ingress network"}
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOWN


class ConfigError(pulumi.RunError, ValueError):
    """A stack setting or topology entry is wrong; the message says which and how to fix it.

    A `pulumi.RunError`, so `pulumi up` prints the message alone, without a Python traceback.
    """


def clip(text: str) -> str:
    """`text`, at most SHOWN characters."""
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def short(value: Any) -> str:
    """`value`'s repr, at most SHOWN characters (built without writing out a huge value)."""
    return clip(_repr.repr(value))


def fail(fieldname: str, value: Any, problem: str, fix: str, shown: Optional[str] = None) -> None:
    """Raise the ConfigError; `shown` replaces the value where it must not be printed (a key)."""
    raise ConfigError(f"{fieldname}: {problem} (got {short(value) if shown is None else shown}). Fix: {fix}")


def cidr(fieldname: str, value: Any) -> str:
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        fail(fieldname, value, f"not a valid CIDR ({err})",
             "write an IPv4 network such as 203.0.113.7/32 or 198.51.100.0/24")
    if net.version != 4:
        fail(fieldname, value, "only IPv4 is supported", "give the IPv4 CIDR of the same network")
    return str(net)


def ip(fieldname: str, value: Any) -> str:
    """A host's IPv4 address: not loopback, unspecified, multicast, link-local or reserved."""
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError:
        fail(fieldname, value, "not an IPv4 address", "write the host's address, e.g. 203.0.113.10")
    if (address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local
            or address.is_reserved):
        fail(fieldname, value, "not a host's address (loopback, unspecified, multicast, link-local or reserved)",
             "write the address other hosts reach this host at, e.g. 203.0.113.10")
    return str(address)


def positive_int(fieldname: str, value: Any, minimum: int = 1, maximum: Optional[int] = None, why: str = "") -> int:
    """A whole number from `minimum` to `maximum` (`why`: what the bounds come from, for the fix)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum else f"of at least {minimum}"
        fail(fieldname, value, f"must be a whole number {bounds}",
             f"set {fieldname} to a number {bounds}{f' ({why})' if why else ''}")
    return value


def container_subnet(fieldname: str, value: Any) -> str:
    """A container network: a private range that Docker's own networks on a host do not use."""
    net = ipaddress.ip_network(cidr(fieldname, value))
    if not any(net.subnet_of(block) for block in PRIVATE):
        fail(fieldname, value, "not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, or "
             "100.64.0.0/10): its addresses would shadow hosts on the internet",
             "use a private range no node's network uses, e.g. 172.30.0.0/16")
    for block, what in DOCKER_HOST_NETWORKS.items():
        if net.overlaps(ipaddress.ip_network(block)):
            fail(fieldname, value, f"overlaps {block}, {what} on every Docker host",
                 f"use a private range outside {', '.join(DOCKER_HOST_NETWORKS)}, e.g. 172.30.0.0/16")
    return str(net)


def did_you_mean(name: str, known: Any) -> str:
    """"did you mean 'x'? " for the known name closest to `name` (case aside), or ""."""
    lowered = {str(key).lower(): key for key in known}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean {lowered[close[0]]!r}? " if close else ""


def boolean(fieldname: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(fieldname, value, "must be true or false", "write true or false, without quotes")
    return value


def choice(fieldname: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        fail(fieldname, value, "unknown value", f"use one of: {', '.join(allowed)}")
    return value


def mapping(fieldname: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
    """An object with only `allowed` keys, all text (None is an empty object)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail(fieldname, value, "must be an object", f"give {fieldname} as key: value pairs")
    keys(fieldname, value)
    unknown = sorted(set(value) - allowed)
    if unknown:
        fail(f"{fieldname}.{clip(unknown[0])}", value[unknown[0]], "unknown key",
             f"{did_you_mean(unknown[0], allowed)}use only: {', '.join(sorted(allowed))}")
    return value


def keys(fieldname: str, value: Mapping[Any, Any]) -> None:
    """Every key of an object is text (YAML reads `1:` or `true:` as a number or a boolean)."""
    for key in value:
        if not isinstance(key, str):
            fail(fieldname, key, "a key that is not text", "write keys as names, e.g. `disk: ssd`; quote a "
                 "key that YAML would read as a number or a boolean")


def dns_name(fieldname: str, value: Any) -> str:
    if not isinstance(value, str) or not DNS_NAME.fullmatch(value) or len(value) > MAX_NAME:
        fail(fieldname, value, f"not a DNS-safe name of at most {MAX_NAME} characters",
             "use lowercase letters, digits and '-', starting with a letter, e.g. azure-swarm-worker")
    return value


def linux_user(fieldname: str, value: Any) -> str:
    if not isinstance(value, str) or not LINUX_USER.fullmatch(value):
        fail(fieldname, value, "not a Linux user name",
             "use lowercase letters, digits, '_' and '-' (at most 32, not starting with a digit), e.g. ubuntu")
    return value


def image(fieldname: str, value: Any) -> str:
    """A Docker image reference, never an option (`--help`) or anything else on a command line."""
    if not isinstance(value, str) or len(value) > 255 or not IMAGE.fullmatch(value):
        fail(fieldname, value, "not a Docker image reference",
             "write [registry/]name[:tag][@sha256:<digest>], e.g. flink:1.20.3-java17")
    return value


def key_description(value: Any) -> str:
    """What a key field holds, never its content: it may be a private key."""
    if not isinstance(value, str):
        return "nothing" if value is None else f"a value of type {type(value).__name__}"
    if "PRIVATE KEY" in value:
        return "a private key"
    if len(value.strip().splitlines()) > 1:
        return f"{len(value.strip().splitlines())} lines"
    if PUBLIC_KEY.fullmatch(value.strip()):
        return "a public key"
    word = re.match(r"\s*((?:ssh|ecdsa|sk)-[a-z0-9@.-]{1,40})\s", value)
    return f"a key of type {word[1]!r}" if word else f"{len(value)} characters that are not a key"


def public_key(fieldname: str, value: Any, fix: str) -> tuple[str, str, str]:
    """One OpenSSH public key line `<type> <base64> [comment]`: (the line stripped, type, base64)."""
    text = value.strip() if isinstance(value, str) else ""
    match = PUBLIC_KEY.fullmatch(text) if "PRIVATE KEY" not in text else None
    if not match:
        fail(fieldname, value, f"not one OpenSSH public key line ({', '.join(KEY_TYPES[:5])}, sk-...)", fix,
             shown=key_description(value))
    blob = base64.b64decode(match[2])  # the pattern admits only whole base64
    named = blob[4:4 + int.from_bytes(blob[:4], "big")] if len(blob) > 4 else b""
    if named != match[1].encode():  # RFC 4253 6.6: the key blob starts with its type, length-prefixed
        fail(fieldname, value, f"its base64 data is not an {match[1]} key (a truncated, altered or "
             "mislabelled key)", fix, shown=f"a key of type {match[1]!r}")
    if match[1] == "ssh-rsa" and _rsa_bits(blob) < MIN_RSA_BITS:
        fail(fieldname, value, f"an RSA key of fewer than {MIN_RSA_BITS} bits, too weak",
             f"use an ed25519 key (`ssh-keygen -t ed25519`); {fix}", shown="a key of type 'ssh-rsa'")
    return text, match[1], match[2]


def _rsa_bits(blob: bytes) -> int:
    """The modulus's size of an ssh-rsa key blob: string type, mpint e, mpint n (RFC 4253 6.6)."""
    fields, at = [], 0
    while at + 4 <= len(blob) and len(fields) < 3:
        size = int.from_bytes(blob[at:at + 4], "big")
        fields.append(blob[at + 4:at + 4 + size])
        at += 4 + size
    return int.from_bytes(fields[2], "big").bit_length() if len(fields) == 3 else 0


def private_key(fieldname: str, value: Any, fix: str) -> Any:
    """A PEM or OpenSSH private key block."""
    if not isinstance(value, str) or not PRIVATE_KEY.fullmatch(value.strip()):
        fail(fieldname, value, "not a private key (-----BEGIN ... PRIVATE KEY----- ... -----END ...)", fix,
             shown=key_description(value))
    return value
