"""Process helpers for the end-to-end tests: run a command, wait for a condition (the one polling loop
of the tests), time a phase.

Every phase is timed (`with phase(name):`) into TIMINGS and printed as "[e2e] images: 12.3s";
the session prints them all at the end (conftest.py), after the plans the engine printed (PLANS).
"""
import contextlib
import hashlib
import subprocess
import time
from collections.abc import Callable
from typing import Any

TIMINGS: dict[str, float] = {}
FIGURES: dict[str, str] = {}  # what a run measured besides time, with its unit ("412 MiB"), printed at the end
PLANS: list[str] = []  # the engine's plans, each under its scenario's title, printed at the end


@contextlib.contextmanager
def phase(name: str):
    """Time the block into TIMINGS[name] and print "[e2e] name: 1.2s"."""
    start = time.monotonic()
    yield
    TIMINGS[name] = time.monotonic() - start
    print(f"[e2e] {name}: {TIMINGS[name]:.1f}s", flush=True)


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run(*cmd: str, timeout: float = 600, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed (rc={proc.returncode}):\n"
                           f"{tail(proc.stdout + proc.stderr)}")
    return proc.stdout.strip()


def digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def wait(what: str, ready: Callable[[], Any], timeout: float, diagnose: Callable[[], str] = lambda: "",
         interval: float = 1) -> Any:
    """Poll ready() every `interval` seconds until it returns a true value, and return that value; after
    `timeout` seconds raise TimeoutError naming `what`, with what diagnose() returns."""
    deadline = time.monotonic() + timeout
    while not (value := ready()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f}s\n{diagnose()}")
        time.sleep(interval)
    return value
