"""The deployer's SSH access: the stack's login key pair and the files `ssh` and docker read.

The key pair is given in config, generated once and kept secret in the state, or (only a public
key given) left in the deployer's ssh-agent, so no private key is in the stack at all. The files
live in `$FLINK_SWARM_KEY_DIR` (default `~/.ssh/flink-swarm/`) and are written again on every run of
the program, so `ssh` and the docker provider find them on any machine that runs `pulumi up` (or
`pulumi destroy --run-program`): `<project>-<stack>` (the private key) and
`<project>-<stack>.known_hosts` (every node's host key, which ssh then requires).
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_tls as tls

from .config import PROJECT, Settings

KEY_DIR_ENV = "FLINK_SWARM_KEY_DIR"
KEY_DIR_DEFAULT = f".ssh/{PROJECT}"  # under the home folder


def write_private(path: Path, text: str) -> str:
    """Write `text` to `path` for its owner only, never through a link, never readable by others.

    The folder must be the user's own (created 0700 if missing; an existing one is not changed) and
    writable by no one else; the text goes to a new 0600 file that is renamed over `path`.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(folder)
    problem = ("is a symbolic link" if stat.S_ISLNK(info.st_mode) else
               "belongs to another user" if info.st_uid != os.geteuid() else
               "is writable by other users" if info.st_mode & 0o022 else "")
    if problem:
        raise pulumi.RunError(f"{KEY_DIR_ENV}: {folder} {problem}, so the stack's SSH files cannot be kept "
                              f"private there. Fix: set {KEY_DIR_ENV} to a folder of your own, e.g. ~/.ssh/flink-swarm")
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")  # 0600, a new file
    with os.fdopen(fd, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    os.replace(temporary, path)  # replaces a link at `path` itself, never its target
    return str(path)


class SshKey(pulumi.ComponentResource):
    """The login key pair, the private key file (none in ssh-agent mode) and the known_hosts file."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:index:SshKey", name, None, opts)
        self.resource_name = name
        folder = Path(os.environ.get(KEY_DIR_ENV, Path.home() / KEY_DIR_DEFAULT))
        self.path = folder / f"{PROJECT}-{settings.stack}"
        self.private_key: Optional[pulumi.Output[str]] = None  # None: the deployer's ssh-agent holds it
        if settings.ssh_public_key is not None:
            self.public_key = pulumi.Output.from_input(settings.ssh_public_key.strip())
            if not settings.ssh_agent:
                self.private_key = pulumi.Output.secret(settings.ssh_private_key)
        else:
            # RSA: accepted by Azure, GCP and every sshd; kept only in the (encrypted) stack state.
            generated = tls.PrivateKey(name, algorithm="RSA", rsa_bits=4096,
                                       opts=pulumi.ResourceOptions(parent=self))
            self.public_key = generated.public_key_openssh.apply(str.strip)
            self.private_key = pulumi.Output.secret(generated.private_key_openssh)
        self.key_file: Optional[pulumi.Output[str]] = None if self.private_key is None else pulumi.Output.unsecret(
            self.private_key.apply(lambda text: write_private(self.path, text)))
        self.register_outputs({"publicKey": self.public_key})

    def known_hosts(self, lines: pulumi.Output[list[str]]) -> pulumi.Output[str]:
        """Write the nodes' `<address> <host key>` lines to the known_hosts file; returns its path."""
        path = self.path.with_name(self.path.name + ".known_hosts")
        return lines.apply(lambda text: write_private(path, "\n".join(text)))

    def ssh_options(self, known_hosts: pulumi.Output[str]) -> pulumi.Output[list[str]]:
        """ssh's options for the stack: its key file (or the agent's keys), the nodes' host keys, no prompt."""
        key_file = self.key_file if self.key_file is not None else pulumi.Output.from_input("")
        return pulumi.Output.all(key_file, known_hosts).apply(lambda paths: _options(*paths))


def _options(key_file: str, known_hosts: str) -> list[str]:
    identity = ["-i", key_file, "-o", "IdentitiesOnly=yes"] if key_file else []  # else the ssh-agent's keys
    return [*identity, "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR"]
