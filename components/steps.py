"""Host steps: a script from `components/scripts/` run on a node over SSH, as one `remote.Command`.

The script text is part of the command, so editing a script re-runs it (in place, as an update) on
exactly the hosts that run it. Steps are named `<node>-<step>`, so any failure names the node and the
step. Secrets travel on stdin, never in the command.

How pulumi-command v1.2.1 treats a step (pulumi/pulumi-command tag v1.2.1, provider/pkg/provider/):
any input change but `triggers` is an in-place update that runs `create` again; a `triggers` change
replaces the step, create-before-delete unless `delete_before_replace` (the SDK's own
replace_on_changes=["triggers[*]"], sdk/python/pulumi_command/remote/command.py:455-456; the
provider never asks for delete-first, pulumi-go-provider infer/resource.go:1247-1252); `delete` runs
with the old state's connection (remote/commandController.go:86-92); on update and delete the
previous stdout goes out as SSH environment unless `addPreviousOutputInEnv` is false
(remote/commandOutputs.go:42-71).
"""
from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Optional, Sequence

import pulumi
from pulumi_command import local, remote

from .machines import Node
from .sshkey import KEY_DIR_DEFAULT, KEY_DIR_ENV, SshKey

SCRIPTS = Path(__file__).resolve().parent / "scripts"  # the host scripts; their shared pieces in lib/

# A script includes a library of SCRIPTS/lib with these two lines, the path relative to the including
# file's folder (`lib/log.sh` in a script, `log.sh` in a library), as bash and shellcheck read them
# (.shellcheckrc: source-path=SCRIPTDIR), so that a script still runs from its file in a checkout:
#   # shellcheck source=lib/log.sh
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
_INCLUDE = re.compile(r'\. "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/(?P<path>[^"]+)"  # include')
_SOURCES_BESIDE = re.compile(r"\s*(\.|source)\s.*BASH_SOURCE")  # meant as an include, whatever its form


def script_text(name: str) -> str:
    """The text of scripts/<name>.sh, self-contained: each include replaced by the library's text.

    Includes are expanded recursively, each library at most once (where first included), so a step's
    command changes, and the step runs again, exactly when its script or a library it includes changes.
    An include that is not of the form above, or names no library of SCRIPTS/lib, raises ValueError
    naming the file and the line.
    """
    return _expanded(SCRIPTS / f"{name}.sh", set())


def _expanded(file: Path, included: set[Path]) -> str:
    """`file`'s text, its includes expanded; `included`: the libraries already in the text."""
    lib = SCRIPTS / "lib"  # paths compared as written, normalised (resolve() was most of a step's cost)
    out: list[str] = []
    for number, line in enumerate(file.read_text().splitlines(keepends=True), 1):
        if not (line.rstrip().endswith("# include") or _SOURCES_BESIDE.match(line)):
            out.append(line)
            continue
        where = f"{'lib/' if file.parent == lib else ''}{file.name} line {number} ({line.strip()!r})"
        found = _INCLUDE.fullmatch(line.rstrip("\n"))
        if not found:
            raise ValueError(f"{where}: an include is `. \"$(dirname \"${{BASH_SOURCE[0]}}\")/<path>\"  # include`")
        path = found["path"]
        if not out or out[-1].rstrip("\n") != f"# shellcheck source={path}":
            raise ValueError(f"{where}: the line before an include is `# shellcheck source={path}`, "
                             "so that shellcheck follows it")
        target = Path(os.path.normpath(file.parent / path))
        if target.parent != lib or target.suffix != ".sh" or not target.is_file():
            raise ValueError(f"{where}: includes {path}, which is not a library in {SCRIPTS / 'lib'}")
        out.pop()  # the shellcheck directive goes with its include
        if target not in included:
            included.add(target)
            text = _expanded(target, included)
            out.append(text if text.endswith("\n") else text + "\n")
    return "".join(out)


def script(name: str, *args: pulumi.Input) -> pulumi.Output[str]:
    """`sudo bash -c '<scripts/name.sh>' name args...`, every part shell-quoted: a host step as root.

    The text is `script_text(name)`, self-contained."""
    return local_script(name, *args).apply(lambda line: f"sudo -n {line}")


def local_script(name: str, *args: pulumi.Input) -> pulumi.Output[str]:
    """`bash -c '<scripts/name.sh>' name args...`, every part shell-quoted, as the user running it.

    The text is `script_text(name)`, self-contained."""
    text = script_text(name)
    return pulumi.Output.all(*args).apply(
        lambda values: " ".join(["bash -c", shlex.quote(text), name, *(shlex.quote(str(v)) for v in values)]))


def node_command(parent: pulumi.Resource, node: Node, step: str, create: Optional[pulumi.Input[str]], *,
                 on: Optional[Node] = None, delete: Optional[pulumi.Input[str]] = None,
                 stdin: Optional[pulumi.Input[str]] = None, depends_on: Sequence[pulumi.Resource] = (),
                 triggers: Sequence[pulumi.Input[str]] = (), undoes_itself: bool = False) -> remote.Command:
    """Step `<node>-<step>` of a node, run on `on` (default: the node), so a failure names node and step.

    The step runs again (is replaced) when the node's machine is new (its identity is always a
    trigger) or when one of `triggers` changes. `undoes_itself`: `delete` undoes `create` on the same
    host (join and leave), so a replacement must delete first, or the old delete would undo the new create.
    """
    return _command(parent, f"{node.name}-{step}", on or node, create, delete=delete, stdin=stdin,
                    depends_on=depends_on, triggers=[node.identity, *triggers], undoes_itself=undoes_itself)


def control_command(parent: pulumi.Resource, step: str, manager: Node, create: pulumi.Input[str], *,
                    depends_on: Sequence[pulumi.Resource] = (), triggers: Sequence[pulumi.Input[str]] = (),
                    secret_stdout: bool = False) -> remote.Command:
    """Step `swarm-<step>` of the whole swarm, run on the control manager: it does not follow one
    machine, so moving control to another manager runs it there again, in place."""
    return _command(parent, f"swarm-{step}", manager, create, depends_on=depends_on, triggers=triggers,
                    secret_stdout=secret_stdout)


def _command(parent: pulumi.Resource, name: str, host: Node, create: Optional[pulumi.Input[str]], *,
             delete: Optional[pulumi.Input[str]] = None, stdin: Optional[pulumi.Input[str]] = None,
             depends_on: Sequence[pulumi.Resource] = (), triggers: Sequence[pulumi.Input[str]] = (),
             undoes_itself: bool = False, secret_stdout: bool = False) -> remote.Command:
    return remote.Command(
        name, connection=host.connection, create=create, delete=delete, stdin=stdin,
        triggers=list(triggers) or None, add_previous_output_in_env=False,
        logging=remote.Logging.STDERR if secret_stdout else remote.Logging.STDOUT_AND_STDERR,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on),
                                    delete_before_replace=True if undoes_itself else None,
                                    additional_secret_outputs=["stdout"] if secret_stdout else None))


def destroy_guard(key: SshKey, users: Sequence[pulumi.Resource]) -> local.Command:
    """`<key>-files`, delete only, on the machine that runs `pulumi destroy`: before anything that
    `users` (what reaches the nodes with the key's files) deletes, the files must be there, or the
    destroy stops at once naming them and `--run-program` (scripts/ssh-files.sh). Its delete runs before
    theirs because it depends on them (a destroy deletes dependents first); it finds the folder anew
    on the destroying machine, as the program would."""
    mode = "key" if key.key_file is not None else "agent"
    return local.Command(
        f"{key.resource_name}-files",
        delete=local_script("ssh-files", KEY_DIR_ENV, KEY_DIR_DEFAULT, key.path.name, mode),
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=key, depends_on=list(users)))
