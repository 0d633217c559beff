"""`logs` and `shell`: a service's logs from the swarm's control manager, and a shell (or a command)
in a Flink container, over the stack's SSH (tunnel.ssh_argv: the stack's key, the node's host key
required). Each remote command is fixed words and shlex-quoted values, checked first: the service
name or task id, `--since` and `--tail` by pattern, the container id that docker printed.

    logs:  ssh <control manager> sudo -n docker service logs [--follow] [--since S] [--tail N]
                                                              [--timestamps] -- NAME
    shell: ssh <node> sudo -n docker ps -q --filter label=com.docker.swarm.service.name=SERVICE
                                           --filter status=running
           then  ssh -t <node> sudo -n docker exec -it ID sh -c BASH_ELSE_SH
           or    ssh <node> sudo -n docker exec ID COMMAND...          (with `-- COMMAND...`)
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys

from .errors import Refused
from .stack import Identity, SshTarget, control_manager, flink_rest, identity, nodes_of_role, ssh_target
from .tunnel import ssh_argv

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a service's name or a task's id or name
# --since as docker's GetTimestamp reads it (moby client/internal/timestamp/timestamp.go:26-92, commit
# b985e23): a Go duration, an RFC 3339 date or time (local without a zone), or Unix seconds.
SINCE = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+"
                   r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
                   r"|[0-9]+(\.[0-9]+)?")
TAIL = re.compile(r"[0-9]+|all")
CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}")
SERVICES = ("jobmanager", "taskmanager")
# Swarm labels a task's container com.docker.swarm.service.name=<service> (moby daemon/cluster/executor/
# container/container.go:37 and :259, commit b985e23); `status=running` filters on its state (daemon/list.go:34, :486).
SERVICE_LABEL = "com.docker.swarm.service.name"
# In `docker exec -it`, -i keeps stdin open and -t allocates a pseudo-TTY (docker/cli cli/command/container/
# exec.go:69-70, commit 28f7560); the shell in it: bash where the image has it, else sh.
BASH_ELSE_SH = "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh"
KEEPALIVE = ("-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3")  # a node gone ends ssh in ~30 s


def checked(pattern: re.Pattern, what: str):
    """An argparse type: the value if `pattern` matches it whole, else a usage error saying what it takes."""
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value
    return check


def add_parsers(commands, common) -> None:
    """The `logs` and `shell` subcommands."""
    logs = commands.add_parser("logs", parents=[common], allow_abbrev=False,
                               help="a service's or task's logs (docker service logs on the swarm's control manager)")
    logs.add_argument("target", metavar="SERVICE_OR_TASK", type=checked(NAME, (
        "a service name or task id (letters, digits, '.', '_' and '-', starting with a letter or digit): give "
        "one such as jobmanager, taskmanager or zookeeper, or a task id from `docker service ps`")))
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument("--since", metavar="S", type=checked(SINCE, (
        "a time docker takes: give a duration (10m, 1h30m), a date or time (2026-12-07, 2026-12-07T13:23:37Z) "
        "or Unix seconds")), help="only lines since then: 10m, 2026-12-07T13:23:37Z, ...")
    logs.add_argument("--tail", metavar="N", type=checked(TAIL, "a number of lines: give 0, 1, 2, ... or all"),
                      help="only the last N lines of each task (default: all)")
    logs.add_argument("--timestamps", action="store_true", help="each line's time")
    shell = commands.add_parser(
        "shell", parents=[common], allow_abbrev=False, usage="%(prog)s [jobmanager|taskmanager] [--node NODE] [-- COMMAND...]",
        help="a shell (or -- COMMAND) in the jobmanager's or a taskmanager's container, over SSH",
        epilog="COMMAND...: run it instead of a shell, without a terminal; its exit code is flink-swarm's.")
    shell.add_argument("service", nargs="?", choices=SERVICES, default="jobmanager", metavar="SERVICE",
                       help="jobmanager (the default) or taskmanager")
    shell.add_argument("--node", help="the taskmanager's node, a worker (default: the first worker)")


def logs_command(args: argparse.Namespace) -> str:
    """`docker service logs` with the options given (docker/cli cli/command/service/logs.go:43-68, commit 28f7560)."""
    words = ["sudo", "-n", "docker", "service", "logs", *(["--follow"] if args.follow else []),
             *(["--since", args.since] if args.since else []), *(["--tail", args.tail] if args.tail else []),
             *(["--timestamps"] if args.timestamps else []), "--", args.target]
    return shlex.join(words)


def logs(stack_outputs: dict, args: argparse.Namespace) -> int:
    """The logs, printed as they arrive; docker's exit code (0 on Ctrl-C)."""
    argv = ssh_argv(control_manager(stack_outputs), identity(stack_outputs), KEEPALIVE, logs_command(args))
    try:
        return attached(argv, stdin=subprocess.DEVNULL)
    except KeyboardInterrupt:
        return 0


def shell_node(stack_outputs: dict, service: str, node: str | None) -> str:
    """The node whose container `shell` enters: the jobmanager's, or a worker (`node`, default the first)."""
    if service == "jobmanager":
        jobmanager = flink_rest(stack_outputs).node
        if node not in (None, jobmanager):
            raise Refused(f"--node {node}: the jobmanager runs on {jobmanager}; for a taskmanager's container "
                          f"give `shell taskmanager --node {node}`")
        return jobmanager
    workers = nodes_of_role(stack_outputs, "worker")
    if not workers:
        raise Refused("the stack's output `nodes` has no worker, so no taskmanager: run `pulumi up`")
    if node is not None and node not in workers:
        raise Refused(f"--node {node!r} is not a worker of the stack (output `nodes`): give one of {', '.join(workers)}")
    return node or workers[0]


def container(target: SshTarget, ssh_identity: Identity, service: str) -> str:
    """The id of the first running container of `service` on the node."""
    command = shlex.join(["sudo", "-n", "docker", "ps", "-q", "--filter", f"label={SERVICE_LABEL}={service}",
                          "--filter", "status=running"])
    try:
        done = subprocess.run(ssh_argv(target, ssh_identity, KEEPALIVE, command), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise Refused("ssh is not on PATH: install an OpenSSH client") from None
    if done.returncode != 0:
        raise Refused(f"`docker ps` on {target.node} failed (exit code {done.returncode}): "
                      f"{done.stderr.strip() or 'it said nothing'}")
    found = done.stdout.split()
    if not found:
        raise Refused(f"no running {service} container on {target.node}: `flink-swarm logs {service}` says why")
    if not CONTAINER_ID.fullmatch(found[0]):
        raise Refused(f"`docker ps` on {target.node} printed {found[0][:80]!r}, not a container id")
    return found[0]


def shell(stack_outputs: dict, args: argparse.Namespace) -> int:
    """A shell in the service's container, in this terminal (or `args.args` run there); its exit code."""
    if not args.args and not sys.stdin.isatty():
        raise Refused("shell: an interactive shell needs a terminal, and stdin is not one: run it in a terminal, "
                      "or give a command after `--` (flink-swarm shell jobmanager -- ls /opt/flink/log)")
    target = ssh_target(stack_outputs, shell_node(stack_outputs, args.service, args.node))
    ssh_identity = identity(stack_outputs)
    found = container(target, ssh_identity, args.service)
    if args.args:  # docker exec passes the command's exit code on (docker/cli cli/command/container/exec.go:204-215)
        command = shlex.join(["sudo", "-n", "docker", "exec", found, *args.args])
        return attached(ssh_argv(target, ssh_identity, KEEPALIVE, command), stdin=subprocess.DEVNULL)
    command = shlex.join(["sudo", "-n", "docker", "exec", "-it", found, "sh", "-c", BASH_ELSE_SH])
    return attached(ssh_argv(target, ssh_identity, ("-t", *KEEPALIVE), command), stdin=None)


def attached(argv: list[str], stdin) -> int:
    """ssh with this process's stdout and stderr (and `stdin`; None: this one's), until it ends: its exit
    code (128 + N when a signal N ended it). On Ctrl-C, ssh is ended and KeyboardInterrupt raised."""
    try:
        proc = subprocess.Popen(argv, stdin=stdin)
    except FileNotFoundError:
        raise Refused("ssh is not on PATH: install an OpenSSH client") from None
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()  # a terminal's Ctrl-C reached ssh too; a signal to this process alone did not
        proc.wait()
        raise
    return code if code >= 0 else 128 - code
