"""A PyFlink job: copied into the jobmanager's container over SSH and started there with Flink's own
`flink run -d -py`, so the cluster's image needs Python and PyFlink (flink-swarm:flink.python), and
the stack's outputs are needed (where the jobmanager node's SSH answers), even with --url. The ssh
command line is tunnel.ssh_argv's; the remote command is this module's own text, the job's file name
and arguments quoted in it."""
from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from .errors import Refused, root_cause, shorten
from .stack import Identity, SshTarget
from .tunnel import ssh_argv

# `flink run -d` prints "Job has been submitted with JobID <32 hex digits>"
SUBMITTED = re.compile(r"JobID ([0-9a-f]{32})")


def remote_command(job: Path, args: list[str], parallelism: int | None) -> str:
    """The shell command run on the jobmanager's node: the job into its container's /tmp, then run."""
    run = ["flink", "run", "-d", *(["-p", str(parallelism)] if parallelism else []), "-py", f"/tmp/{job.name}",
           *args]
    return ("c=$(docker ps -q --filter label=com.docker.swarm.service.name=jobmanager | head -n 1) && "
            "{ [ -n \"$c\" ] || { echo 'no jobmanager container on this node' >&2; exit 1; }; } && "
            f"docker cp -- - \"$c\":/tmp && docker exec \"$c\" {shlex.join(run)}")


def archive(job: Path) -> bytes:
    """The job file as a tar stream (what `docker cp -` unpacks)."""
    done = subprocess.run(["tar", "-C", str(job.parent), "-cf", "-", "--", job.name], capture_output=True, check=False)
    if done.returncode != 0:
        raise Refused(f"tar {job}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def submit(target: SshTarget, identity: Identity, job: Path, args: list[str], parallelism: int | None = None) -> str:
    """Run the job on the jobmanager's node (`target`) over SSH; its job id."""
    if not job.is_file():
        raise Refused(f"no such job file: {job}")
    tarball = archive(job)
    argv = ssh_argv(target, identity, command=remote_command(job, args, parallelism))
    try:
        done = subprocess.run(argv, input=tarball, capture_output=True, check=False)
    except FileNotFoundError:
        raise Refused("ssh is not on PATH: install an OpenSSH client (a Python job is copied over SSH)") from None
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    found = SUBMITTED.search(output)
    if done.returncode != 0 or not found:
        lines = [line for line in output.strip().splitlines() if line.strip()]
        line = root_cause(output) or (shorten(lines[-1]) if lines else "(no output)")
        raise Refused(f"flink run -py on {target.node} failed: {line}", trace=output.strip())
    return found[1]
