"""The stack's SSH key pair: given in config, or generated once and kept secret in the state."""
from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_tls as tls

from .config import PROJECT, Settings

KEY_DIR_ENV = "FLINK_SWARM_KEY_DIR"  # where the private key file goes; default ~/.ssh/flink-swarm


def _write_private(path: Path, text: str) -> str:
    """Write `text` to `path` readable by its owner only (the directory too)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    os.chmod(path, 0o600)
    return str(path)


class SshKey(pulumi.ComponentResource):
    """Public key for the machines, secret private key for SSH, and a 0600 key file for `ssh`/docker.

    The key file lives at `$FLINK_SWARM_KEY_DIR/<project>-<stack>` (default `~/.ssh/flink-swarm/`)
    and is rewritten on every run of the program, so `ssh -i` and the docker provider find it on
    any machine that runs `pulumi up` (or `pulumi destroy --run-program`).
    """

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:index:SshKey", name, None, opts)
        if settings.ssh_public_key is not None:
            self.public_key = pulumi.Output.from_input(settings.ssh_public_key.strip())
            self.private_key = pulumi.Output.secret(settings.ssh_private_key)
        else:
            # RSA: accepted by Azure, GCP and every sshd; kept only in the (encrypted) stack state.
            generated = tls.PrivateKey(name, algorithm="RSA", rsa_bits=4096,
                                       opts=pulumi.ResourceOptions(parent=self))
            self.public_key = generated.public_key_openssh.apply(str.strip)
            self.private_key = pulumi.Output.secret(generated.private_key_openssh)
        key_dir = Path(os.environ.get(KEY_DIR_ENV, Path.home() / ".ssh" / PROJECT))
        path = key_dir / f"{PROJECT}-{settings.stack}"
        self.key_file: pulumi.Output[str] = pulumi.Output.unsecret(
            self.private_key.apply(lambda text: _write_private(path, text)))
        self.register_outputs({"publicKey": self.public_key})
