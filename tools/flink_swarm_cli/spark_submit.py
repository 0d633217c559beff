"""`spark submit`: the application's driver runs in the Spark master's container (client mode), over the
stack's SSH to the master's node (tunnel.ssh_argv). Each remote command is fixed words and quoted values
(shlex), run by the node's shell, docker through `sudo -n` as remote.py has it:

    1. ssh <node> sudo -n docker ps -q --filter label=com.docker.swarm.service.name=<service>
                                       --filter status=running                                (remote.container)
    2. ssh <node> sudo -n docker cp -- - <container>:/tmp && sudo -n docker exec <container> hostname -i
       (stdin: a tar of flink-swarm-spark-<random>/<the file's name, made safe>; stdout: the container's
       addresses, the first one the driver's)
    3. ssh <node> sudo -n docker exec <container> /opt/spark/bin/spark-submit --master <master>
         --deploy-mode client --conf spark.driver.host=<address> --conf spark.driver.bindAddress=0.0.0.0
         [--class C] [--name N] [--conf K=V]... [--executor-memory M] [--total-executor-cores N]
         /tmp/flink-swarm-spark-<random>/<file> [ARG...]                  (its output as it comes)
    4. ssh <node> sudo -n docker exec -u root <container> rm -rf -- /tmp/flink-swarm-spark-<random>
       (after Ctrl-C, first `sudo -n docker exec <container> pkill -f -- <that folder>/`: the driver)

The executors, on the workers, connect back to the driver at its container's address on the swarm's
network. The application's id is the one the driver logs when the master registers it
(core/src/main/scala/org/apache/spark/scheduler/cluster/StandaloneSchedulerBackend.scala, connected():
logInfo("Connected to Spark cluster with app ID " + appId)).
"""
from __future__ import annotations

import argparse
import io
import ipaddress
import re
import shlex
import subprocess
import sys
import tarfile
import threading
import uuid
from pathlib import Path

from .errors import Refused
from .remote import KEEPALIVE, container
from .stack import Spark, identity, ssh_target
from .tunnel import ssh_argv

SPARK_SUBMIT = "/opt/spark/bin/spark-submit"  # the official image's SPARK_HOME=/opt/spark
APP_ID = re.compile(r"Connected to Spark cluster with app ID (app-[0-9]+-[0-9]+)")
SAFE = re.compile(r"[^A-Za-z0-9._-]")


def remote_name(app: Path) -> str:
    """The file's name in the container: letters, digits, '.', '_' and '-' (its extension, .jar or .py,
    tells spark-submit what it is)."""
    return SAFE.sub("_", app.name)


def archive(app: Path, folder: str, name: str) -> bytes:
    """A tar of `folder`/`name` (what `docker cp -` unpacks): the folder 0755, the file 0644, readable by
    the image's `spark` user."""
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        entry = tarfile.TarInfo(folder)
        entry.type, entry.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(entry)
        entry = tarfile.TarInfo(f"{folder}/{name}")
        content = app.read_bytes()
        entry.size, entry.mode = len(content), 0o644
        tar.addfile(entry, io.BytesIO(content))
    return stream.getvalue()


def copy_command(found: str) -> str:
    return (shlex.join(["sudo", "-n", "docker", "cp", "--", "-", f"{found}:/tmp"]) + " && "
            + shlex.join(["sudo", "-n", "docker", "exec", found, "hostname", "-i"]))


def options(args: argparse.Namespace) -> list[str]:
    """spark-submit's options as given (SparkSubmitArguments' names)."""
    return [*(["--class", args.main_class] if args.main_class else []), *(["--name", args.name] if args.name else []),
            *[word for conf in args.conf for word in ("--conf", conf)],
            *(["--executor-memory", args.executor_memory] if args.executor_memory else []),
            *(["--total-executor-cores", str(args.total_executor_cores)] if args.total_executor_cores else [])]


def submit_command(found: str, spark: Spark, address: str, path: str, args: argparse.Namespace) -> str:
    """spark-submit in the container, in the foreground: every word after the file is the program's."""
    return shlex.join(["sudo", "-n", "docker", "exec", found, SPARK_SUBMIT, "--master", spark.master,
                       "--deploy-mode", "client", "--conf", f"spark.driver.host={address}",
                       "--conf", "spark.driver.bindAddress=0.0.0.0", *options(args), path, *args.args])


def cleanup_command(found: str, folder: str, driver_may_run: bool) -> str:
    """Remove the copied file (docker cp made it root's); after Ctrl-C, end the driver first."""
    remove = shlex.join(["sudo", "-n", "docker", "exec", "-u", "root", found, "rm", "-rf", "--", folder])
    if not driver_may_run:
        return remove
    return shlex.join(["sudo", "-n", "docker", "exec", found, "pkill", "-f", "--", f"{folder}/"]) + "; " + remove


def copy(argv: list[str], tarball: bytes, where: str) -> str:
    """Run step 2; the container's own address (the first word of `hostname -i`)."""
    try:
        done = subprocess.run(argv, input=tarball, capture_output=True, check=False)
    except FileNotFoundError:
        raise Refused("ssh is not on PATH: install an OpenSSH client") from None
    said = done.stderr.decode(errors="replace").strip()
    if done.returncode != 0:
        raise Refused(f"copying the application into {where} failed (exit code {done.returncode}): "
                      f"{said.splitlines()[-1] if said else 'it said nothing'}", trace=said or None)
    words = done.stdout.decode(errors="replace").split()
    try:
        return str(ipaddress.ip_address(words[0]))
    except (IndexError, ValueError):
        raise Refused(f"`hostname -i` in {where} printed {' '.join(words)[:80]!r}, not an address") from None


def stream(argv: list[str], to_stderr: bool) -> tuple[int, str | None]:
    """ssh with the driver's output passed on line by line as it comes (its stdout to this stdout, or to
    stderr with `to_stderr`; its stderr to stderr); (its exit code, the application id it logged).
    On Ctrl-C, ssh is ended and KeyboardInterrupt raised."""
    found: list[str] = []

    def pass_on(source, sink) -> None:
        for line in iter(source.readline, b""):
            text = line.decode(errors="replace")
            sink.write(text)
            sink.flush()
            if not found and (match := APP_ID.search(text)):
                found.append(match[1])
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise Refused("ssh is not on PATH: install an OpenSSH client") from None
    readers = [threading.Thread(target=pass_on, args=(pipe, sink), daemon=True)
               for pipe, sink in ((proc.stdout, sys.stderr if to_stderr else sys.stdout), (proc.stderr, sys.stderr))]
    for reader in readers:
        reader.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    for reader in readers:
        reader.join()
    return (code if code >= 0 else 128 - code), (found[0] if found else None)


def submit(stack_outputs: dict, spark: Spark, args: argparse.Namespace) -> tuple[int, str | None]:
    """Copy the application into the master's container, run spark-submit there, remove the copy;
    (spark-submit's exit code, the application's id or None)."""
    if not args.app.is_file():
        raise Refused(f"no such application file: {args.app}")
    folder, name = f"/tmp/flink-swarm-spark-{uuid.uuid4().hex[:12]}", remote_name(args.app)
    try:
        tarball = archive(args.app, folder.removeprefix("/tmp/"), name)
    except OSError as err:
        raise Refused(f"cannot read {args.app}: {err.strerror or err}") from None
    target, ssh_identity = ssh_target(stack_outputs, spark.ui.node), identity(stack_outputs)
    found = container(target, ssh_identity, spark.service)
    where = f"the {spark.service} container on {target.node}"
    driver_may_run = False  # while spark-submit runs (after Ctrl-C, it runs on in the container)
    try:
        address = copy(ssh_argv(target, ssh_identity, KEEPALIVE, copy_command(found)), tarball, where)
        driver_may_run = True
        done = stream(ssh_argv(target, ssh_identity, KEEPALIVE, submit_command(found, spark, address,
                                                                              f"{folder}/{name}", args)),
                      args.output == "json")
        driver_may_run = False
        return done
    finally:
        cleanup(ssh_argv(target, ssh_identity, KEEPALIVE, cleanup_command(found, folder, driver_may_run)), folder,
                where)


def cleanup(argv: list[str], folder: str, where: str) -> None:
    """Run step 4; say so if it failed (the folder stays in /tmp until the container is replaced)."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              check=False)
    except FileNotFoundError:
        return  # no ssh: said already
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()
        print(f"flink-swarm: could not remove {folder} from {where} (exit code {done.returncode}): "
              f"{said.splitlines()[-1] if said else 'it said nothing'}", file=sys.stderr, flush=True)
