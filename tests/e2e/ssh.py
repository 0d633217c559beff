"""The one ssh command line of the end-to-end tests (test hosts, the engine's remote commands).

Without `known_hosts` the host key is not checked (test hosts get fresh host keys when they boot);
with it, the host must present exactly that key, as pulumi-command checks a connection's `hostKey`.
"""
from pathlib import Path
from typing import Optional

OPTIONS = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"]
UNCHECKED = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]


def argv(user: str, host: str, port: int, key_file: Path | str, command: str, connect_timeout: int = 5,
         known_hosts: Optional[Path] = None, host_key_type: str = "") -> list[str]:
    """`ssh` with the stack's key only, no prompt, a bounded dial, running `command`."""
    checked = (["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
                "-o", f"HostKeyAlgorithms={host_key_type}"] if known_hosts else UNCHECKED)
    return ["ssh", *OPTIONS, *checked, "-o", f"ConnectTimeout={int(connect_timeout)}", "-i", str(key_file),
            "-p", str(int(port)), f"{user}@{host}", command]
