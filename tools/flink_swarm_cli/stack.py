"""The stack's outputs (`pulumi stack output --json`): the cluster's URL and the jobmanager's SSH command.

`--cwd DIR` is the Pulumi project's folder (passed on as Pulumi's own `--cwd`), so the CLI works from
any directory; `--stack S` picks the stack (default: the selected one).
"""
from __future__ import annotations

import json
import shlex
import subprocess

from .errors import Refused


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


def flink_url(stack_outputs: dict) -> str:
    url = stack_outputs.get("flinkUiUrl")
    if not url:
        raise Refused("the stack has no flinkUiUrl output: is it deployed? (or give the cluster with --url)")
    return str(url)


def jobmanager_ssh(stack_outputs: dict) -> tuple[str, list[str]]:
    """(the jobmanager's node, its SSH command as words), from the outputs `nodes` and `sshCommands`."""
    try:
        node = next(n["name"] for n in stack_outputs["nodes"] if n["role"] == "jobmanager")
        return node, shlex.split(stack_outputs["sshCommands"][node])
    except (KeyError, TypeError, StopIteration):
        raise Refused("the stack's outputs have no jobmanager node in `nodes` with an `sshCommands` entry: "
                      "is the stack deployed?") from None
