"""SSH to the stack's nodes: the one argv builder (`ssh_argv`), and the tunnel to Flink's REST API.

Flink's REST API has no authentication and runs any jar uploaded to it, so no firewall opens it: it
answers on the jobmanager node's 127.0.0.1:8081 only, and the CLI reaches it through
`ssh -N -L 127.0.0.1:<free port>:127.0.0.1:8081` to that node (the jar travels inside SSH).

Every ssh command line is an argv list built from the stack's outputs as data (never a shell, never a
stack output parsed as a command line): the stack's key files, the node's host key required, no
prompt, a bounded dial, and `--` before the destination.
"""
from __future__ import annotations

import socket
import subprocess
import tempfile
import time

from .errors import Refused, TimedOut
from .stack import Identity, SshTarget

TIMEOUT = 30.0  # seconds for a tunnel to listen (ssh's own dial: ConnectTimeout=15)
OPTIONS = ("-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
           "-o", "LogLevel=ERROR")


def config_path(path) -> str:
    """A file name as the value of an `-o` option: `%` escaped (ssh expands %-tokens in file names),
    quoted when it holds a space (an `-o` value is split at spaces); a name ssh cannot take is refused.
    (Not `-i`: ssh checks its file before expanding %-tokens, so a name with `%` fails either way.)"""
    text = str(path)
    if '"' in text or "${" in text or any(ord(c) < 32 for c in text):
        raise Refused(f"ssh cannot take the file name {text!r}: set FLINK_SWARM_KEY_DIR to a plainer folder")
    text = text.replace("%", "%%")
    return f'"{text}"' if any(c.isspace() for c in text) else text


def ssh_argv(target: SshTarget, identity: Identity, options: tuple[str, ...] | list[str] = (),
             command: str | None = None) -> list[str]:
    """`ssh` to the node with the stack's key (or the agent's), its host key checked; `command` (one
    string, run by the node's shell) last, after `--` and the host."""
    key = ["-o", f"IdentityFile={config_path(identity.key_file)}", "-o", "IdentitiesOnly=yes"] if identity.key_file else []
    return ["ssh", *key, "-o", f"UserKnownHostsFile={config_path(identity.known_hosts)}", *OPTIONS, *options,
            "-p", str(target.port), "-l", target.user, "--", target.host, *([command] if command is not None else [])]


def free_port(preferred: int = 0) -> int:
    """`preferred` if nothing listens on 127.0.0.1 there, else a port the system has free."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise Refused("no free local port")  # pragma: no cover: port 0 always binds


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Tunnel:
    """`ssh -N -L 127.0.0.1:<local port>:127.0.0.1:<remote port>` to a node, open while in `with`."""

    def __init__(self, target: SshTarget, identity: Identity, remote_port: int, local_port: int = 0,
                 timeout: float | None = None):
        self.target, self.identity, self.remote_port = target, identity, remote_port
        self.local_port = free_port(local_port)
        self.timeout = TIMEOUT if timeout is None else timeout
        self.url = f"http://127.0.0.1:{self.local_port}"
        self._proc: subprocess.Popen | None = None
        self._errors = tempfile.TemporaryFile()

    def argv(self) -> list[str]:
        forward = f"127.0.0.1:{self.local_port}:127.0.0.1:{self.remote_port}"
        # ServerAlive: a tunnel whose node went away ends (in about 30 s) instead of hanging
        return ssh_argv(self.target, self.identity, ("-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=10",
                                                     "-o", "ServerAliveCountMax=3", "-L", forward))

    def __enter__(self) -> "Tunnel":
        self.open()
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def where(self) -> str:
        t = self.target
        return f"the SSH tunnel to {t.node} ({t.user}@{t.host} port {t.port}, to its 127.0.0.1:{self.remote_port})"

    def stderr(self) -> str:
        if self._errors.closed:
            return ""
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace").strip()

    def open(self) -> None:
        """Start ssh and wait (at most `timeout`) until the local end listens; Refused with ssh's
        stderr if ssh ends first."""
        try:
            self._proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=self._errors, start_new_session=True)
        except FileNotFoundError:
            raise Refused("ssh is not on PATH: install an OpenSSH client (Flink's REST API is reached "
                          "through SSH), or give the cluster with --url") from None
        deadline = time.monotonic() + self.timeout
        while not listening(self.local_port):
            if self._proc.poll() is not None:
                raise Refused(f"{self.where()} failed (ssh exit code {self._proc.returncode}): "
                              f"{self.stderr() or 'ssh said nothing'}")
            if time.monotonic() > deadline:
                said = self.stderr()
                self.close()
                raise TimedOut(f"{self.where()} did not listen on 127.0.0.1:{self.local_port} within "
                               f"{self.timeout:g} s" + (f": {said}" if said else ""))
            time.sleep(0.1)

    def wait(self) -> str:
        """Until ssh ends (the connection dropped); its stderr."""
        if self._proc is not None:
            self._proc.wait()
        return self.stderr()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._errors.close()
