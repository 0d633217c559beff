"""Field checks shared by every settings reader, and the one error they raise.

Each check returns the clean value or raises a `ConfigError` that names the field, the bad value and
the fix. Nothing here knows the project's settings: the callers pass the field's full name.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping

DNS_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 40  # node names become hostnames and cloud resource names with a prefix and suffixes


class ConfigError(ValueError):
    """A stack setting or topology entry is wrong; the message says which and how to fix it."""


def fail(fieldname: str, value: Any, problem: str, fix: str) -> None:
    raise ConfigError(f"{fieldname}: {problem} (got {value!r}). Fix: {fix}")


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
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        fail(fieldname, value, "not an IPv4 address", "write the host's address, e.g. 203.0.113.10")


def positive_int(fieldname: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail(fieldname, value, f"must be a whole number of at least {minimum}",
             f"set {fieldname} to {max(minimum, 1)} or more")
    return value


def choice(fieldname: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        fail(fieldname, value, "unknown value", f"use one of: {', '.join(allowed)}")
    return value


def mapping(fieldname: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
    """An object with only `allowed` keys (None is an empty object)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail(fieldname, value, "must be an object", f"give {fieldname} as key: value pairs")
    unknown = sorted(set(value) - allowed)
    if unknown:
        fail(f"{fieldname}.{unknown[0]}", value[unknown[0]], "unknown key",
             f"use only: {', '.join(sorted(allowed))}")
    return value


def dns_name(fieldname: str, value: Any) -> str:
    if not isinstance(value, str) or not DNS_NAME.match(value) or len(value) > MAX_NAME:
        fail(fieldname, value, f"not a DNS-safe name of at most {MAX_NAME} characters",
             "use lowercase letters, digits and '-', starting with a letter, e.g. azure-swarm-worker")
    return value
