"""The stack's outputs (`pulumi stack output --json`), read as data: where Flink's REST API is
(`flinkRest`), where Flink's SQL gateway is (`flinkSqlGateway`, null when the stack runs none), where
Spark's standalone master is (`spark`, null when the stack runs no Spark), where each node's SSH answers
(`ssh`), the stack whose key files this machine has (`sshIdentity`), the nodes' roles (`nodes`) and the
swarm's control manager (`dockerHost`). No output is ever run as a command line or handed to a shell.

`--cwd DIR` is the Pulumi project's folder (passed on as Pulumi's own `--cwd`), so the CLI works from
any directory; `--stack S` picks the stack (default: the selected one).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import Refused

PROJECT = "flink-swarm"
KEY_DIR_ENV = "FLINK_SWARM_KEY_DIR"  # as components/sshkey.py: the folder of the stack's SSH files
KEY_DIR_DEFAULT = f".ssh/{PROJECT}"  # under the home folder
DOCKER_HOST = re.compile(r"ssh://(?P<user>[^@]+)@(?P<host>.+):(?P<port>[0-9]+)")  # components/swarm.py's
SPARK_MASTER = re.compile(r"spark://[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}")  # spark://spark-master:7077
SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a swarm service's name


@dataclass(frozen=True)
class SshTarget:
    """Where one node's SSH answers (the stack's output `ssh`)."""

    node: str
    host: str
    port: int
    user: str


@dataclass(frozen=True)
class Identity:
    """The stack's SSH files on this machine: its key (None: the ssh-agent's keys) and known_hosts."""

    key_file: Path | None
    known_hosts: Path


@dataclass(frozen=True)
class Endpoint:
    """Where an HTTP endpoint of the stack is (outputs `flinkRest`, `flinkSqlGateway`, `spark`): `url` when
    this machine reaches it directly (a local stack), else `port` on the loopback of `node`, through SSH."""

    node: str
    port: int
    url: str | None


@dataclass(frozen=True)
class Spark:
    """Spark's standalone master (the stack's output `spark`): its web UI (and JSON) at `ui`, its swarm
    service (whose container runs the drivers of `spark submit`) and the master URL the drivers use."""

    ui: Endpoint
    service: str
    master: str


def pulumi_command(stack: str | None, cwd: str | None) -> list[str]:
    return ["pulumi", "stack", "output", "--json", *(["--stack", stack] if stack else []),
            *(["--cwd", cwd] if cwd else [])]


def outputs(stack: str | None, cwd: str | None) -> dict:
    """The stack's outputs; Refused (saying how to do without) when Pulumi is missing or fails."""
    command = pulumi_command(stack, cwd)
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise Refused("the Pulumi CLI is not on PATH: install it, or give the cluster with --url") from None
    except subprocess.CalledProcessError as err:
        raise Refused(f"`{shlex.join(command)}` failed: {err.stderr.strip()}") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise Refused(f"`{shlex.join(command)}` did not print a JSON object: {done.stdout[:300]!r}")
    return answer


def _port(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"not a port: {value!r}")
    return value


def _word(value) -> str:
    """A host or user name as one argument: a non-empty string without whitespace or control characters."""
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"not a name: {value!r}")
    return value


def _output(stack_outputs: dict, name: str, read, instead: str = "give the cluster with --url"):
    try:
        return read(stack_outputs[name])
    except (KeyError, TypeError, ValueError) as err:
        found = "has none" if name not in stack_outputs else f"is not as this CLI reads it ({err})"
        raise Refused(f"the stack's output `{name}` {found}: is the stack deployed with this version of the "
                      f"program (`pulumi up`)? (or {instead})") from None


def _endpoint(value: dict, port_field: str = "port") -> Endpoint:
    url = value.get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError(f"url {url!r}")
    return Endpoint(_word(value["node"]), _port(value[port_field]), url or None)


def flink_rest(stack_outputs: dict) -> Endpoint:
    return _output(stack_outputs, "flinkRest", _endpoint)


def sql_gateway(stack_outputs: dict) -> Endpoint | None:
    """Flink's SQL gateway (output `flinkSqlGateway`); None when the stack turned it off (the output is null)."""
    return _output(stack_outputs, "flinkSqlGateway", lambda value: None if value is None else _endpoint(value),
                   "give the gateway with --gateway-url")


def spark_master(stack_outputs: dict) -> Spark | None:
    """Spark's standalone master (output `spark`); None when the stack runs no Spark (the output is null)."""
    def read(value: dict | None) -> Spark | None:
        if value is None:
            return None
        if not SPARK_MASTER.fullmatch(value["master"]) or not SERVICE.fullmatch(value["service"]):
            raise ValueError(f"master {value['master']!r}, service {value['service']!r}")
        return Spark(_endpoint(value, "uiPort"), value["service"], value["master"])
    return _output(stack_outputs, "spark", read, "run `pulumi up`")


def ssh_target(stack_outputs: dict, node: str) -> SshTarget:
    def read(value: dict) -> SshTarget:
        entry = value[node]
        return SshTarget(node, _word(entry["host"]), _port(entry["port"]), _word(entry["user"]))
    return _output(stack_outputs, "ssh", read)


def identity(stack_outputs: dict) -> Identity:
    """The stack's key files as components/sshkey.py writes them on the machine that runs the program:
    `flink-swarm-<stack>` (none in ssh-agent mode) and `flink-swarm-<stack>.known_hosts` in
    $FLINK_SWARM_KEY_DIR, else ~/.ssh/flink-swarm."""
    def read(value: dict) -> Identity:
        stack, agent = _word(value["stack"]), value["agent"]
        if not isinstance(agent, bool) or "/" in stack:
            raise ValueError(f"{value!r}")
        folder = Path(os.environ.get(KEY_DIR_ENV, Path.home() / KEY_DIR_DEFAULT))
        path = folder / f"{PROJECT}-{stack}"
        return Identity(None if agent else path, path.with_name(path.name + ".known_hosts"))
    return _output(stack_outputs, "sshIdentity", read)


def nodes_of_role(stack_outputs: dict, role: str) -> list[str]:
    """The names of the nodes with this role (output `nodes`: manager, jobmanager, worker), in topology order."""
    return _output(stack_outputs, "nodes", lambda rows: [_word(row["name"]) for row in rows if row["role"] == role])


def control_manager(stack_outputs: dict) -> SshTarget:
    """The swarm's control manager: no output names it, but `dockerHost` (ssh://user@host:port,
    components/swarm.py) is its SSH, so it is the node whose `ssh` entry is that user, host and port."""
    def read(value: str) -> tuple[str, str, int]:
        found = DOCKER_HOST.fullmatch(value)
        if not found:
            raise ValueError(f"not ssh://user@host:port: {value!r}")
        return found["user"], found["host"], int(found["port"])
    where = _output(stack_outputs, "dockerHost", read)
    for node in _output(stack_outputs, "ssh", dict):
        target = ssh_target(stack_outputs, node)
        if (target.user, target.host, target.port) == where:
            return target
    raise Refused(f"no node of the stack's output `ssh` is the control manager of output `dockerHost` "
                  f"({stack_outputs['dockerHost']}): run `pulumi up` to bring the outputs up to date")
