"""The one ssh command line of the end-to-end tests (test hosts, the engine's remote commands).

Test hosts get fresh host keys on every start, so host keys are not checked here; the program's
own connections are what the tests examine.
"""
from pathlib import Path

OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"]


def argv(user: str, host: str, port: int, key_file: Path | str, command: str, connect_timeout: int = 5) -> list[str]:
    """`ssh` with the stack's key only, no prompt, a bounded dial, running `command`."""
    return ["ssh", *OPTIONS, "-o", f"ConnectTimeout={int(connect_timeout)}", "-i", str(key_file),
            "-p", str(int(port)), f"{user}@{host}", command]
