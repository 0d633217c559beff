"""Host steps: a script from `components/scripts/` run on a node over SSH, as one `remote.Command`.

The script text is part of the command, so editing a script re-runs it (in place, as an update) on
exactly the hosts that run it. Steps are named `<node>-<step>`, so any failure names the node and the
step. Secrets travel on stdin, never in the command.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional, Sequence

import pulumi
from pulumi_command import remote

from .nodes import Node

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def script(name: str, *args: pulumi.Input) -> pulumi.Output[str]:
    """`sudo bash -c '<scripts/name.sh>' name args...`, every part shell-quoted."""
    text = (SCRIPTS / f"{name}.sh").read_text()
    return pulumi.Output.all(*args).apply(
        lambda values: " ".join(["sudo -n bash -c", shlex.quote(text), name, *(shlex.quote(str(v)) for v in values)]))


def node_command(parent: pulumi.Resource, node: Node, step: str, create: Optional[pulumi.Input[str]], *,
                 on: Optional[Node] = None, delete: Optional[pulumi.Input[str]] = None,
                 stdin: Optional[pulumi.Input[str]] = None, depends_on: Sequence[pulumi.Resource] = (),
                 secret_stdout: bool = False) -> remote.Command:
    """Step `<node>-<step>`, run on `on` (default: the node), so any failure names the node and the step."""
    return remote.Command(
        f"{node.name}-{step}", connection=(on or node).connection, create=create, delete=delete, stdin=stdin,
        logging=remote.Logging.STDERR if secret_stdout else remote.Logging.STDOUT_AND_STDERR,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on),
                                    additional_secret_outputs=["stdout"] if secret_stdout else None))
