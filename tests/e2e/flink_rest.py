"""The few calls of Flink's REST API the end-to-end tests need (stdlib only); jobs are submitted with
the repository's own tools/flink, as a user submits them.

`rest` is the base URL of the jobmanager's REST endpoint, e.g. "http://10.77.0.12:8081".
"""

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "flink"


def get(rest: str, path: str) -> dict:
    with urllib.request.urlopen(f"{rest}{path}", timeout=10) as response:
        return json.load(response)


def wait_taskmanagers(rest: str, count: int, timeout: float = 300, exactly: bool = False) -> list[dict]:
    """Wait until at least (or `exactly`) `count` taskmanagers are registered; returns them."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            taskmanagers = get(rest, "/taskmanagers")["taskmanagers"]
            if len(taskmanagers) == count or (len(taskmanagers) > count and not exactly):
                return taskmanagers
            last = f"{len(taskmanagers)} taskmanager(s) registered"
        except OSError as error:
            last = repr(error)
        time.sleep(2)
    raise TimeoutError(f"{rest}: {count} taskmanager(s) not registered after {timeout:.0f}s ({last})")


def tool(rest: str, *args: str) -> str:
    """tools/flink against `rest`, as a user runs it (--url: no Pulumi CLI needed); its output."""
    proc = subprocess.run([sys.executable, str(TOOL), "--url", rest, *args], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"tools/flink {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def run_jar(rest: str, jar: Path) -> str:
    """Submit `jar` with tools/flink (upload, run its main class); returns the job id it prints."""
    (job_id,) = set(re.findall(r"\b[0-9a-f]{32}\b", tool(rest, "submit", str(jar))))
    return job_id


def wait_job(rest: str, job_id: str, timeout: float = 300) -> str:
    """Wait until the job reaches a terminal state; returns it, or raises with Flink's exception."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        state = get(rest, f"/jobs/{job_id}")["state"]
        if state == "FINISHED":
            return state
        if state in ("FAILED", "CANCELED"):
            exceptions = get(rest, f"/jobs/{job_id}/exceptions")
            raise RuntimeError(f"job {job_id} {state}:\n{exceptions.get('root-exception')}")
        time.sleep(2)
    raise TimeoutError(f"job {job_id} still {state} after {timeout:.0f}s")


def word_counts(rest: str, job_id: str) -> dict[str, int]:
    """The WordCount job's result: its accumulators named "word:<word>" (value = count)."""
    accumulators = get(rest, f"/jobs/{job_id}/accumulators")["user-task-accumulators"]
    return {a["name"].removeprefix("word:"): int(a["value"])
            for a in accumulators if a["name"].startswith("word:")}


def job(rest: str, job_id: str) -> dict:
    """The job's state, start time and restarts (its `numRestarts` metric)."""
    details = get(rest, f"/jobs/{job_id}")
    restarts = get(rest, f"/jobs/{job_id}/metrics?get=numRestarts")
    return {"state": details["state"], "start-time": details["start-time"],
            "restarts": int(restarts[0]["value"]) if restarts else 0}


def wait_running(rest: str, job_id: str, timeout: float = 120) -> dict:
    """Wait until every task of the job runs; returns `job()`."""
    deadline = time.monotonic() + timeout
    while True:
        details = get(rest, f"/jobs/{job_id}")
        if details["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in details["vertices"]):
            return job(rest, job_id)
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} is {details['state']} after {timeout:.0f}s")
        time.sleep(2)


def checkpoints(rest: str, job_id: str) -> dict:
    """The job's checkpoint statistics: `counts`, and `latest` completed and restored checkpoints."""
    return get(rest, f"/jobs/{job_id}/checkpoints")


def wait_checkpoint(rest: str, job_id: str, after: int = 0, timeout: float = 120) -> dict:
    """Wait for a completed checkpoint with an id above `after`; returns its statistics."""
    deadline = time.monotonic() + timeout
    while True:
        completed = (checkpoints(rest, job_id).get("latest") or {}).get("completed")
        if completed and completed["id"] > after:
            return completed
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id}: no checkpoint after {after} in {timeout:.0f}s")
        time.sleep(1)


def gauge(rest: str, job_id: str, name: str, timeout: float = 60) -> int:
    """The value of a job's metric `name`, from whichever vertex has it (first subtask); it shows up
    once the jobmanager fetched the task's metrics (metrics.fetcher.update-interval, 10 s)."""
    deadline = time.monotonic() + timeout
    while True:
        for vertex in get(rest, f"/jobs/{job_id}")["vertices"]:
            path = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
            ids = [m["id"] for m in get(rest, path) if m["id"].endswith(f".{name}")]
            values = get(rest, f"{path}?get={ids[0]}") if ids else []
            if values:
                return int(values[0]["value"])
        if time.monotonic() > deadline:
            raise LookupError(f"job {job_id} has no metric {name} after {timeout:.0f}s")
        time.sleep(2)


def wait_recovered(rest: str, job_id: str, timeout: float = 240) -> dict:
    """Wait (through a REST endpoint that is away meanwhile) until the job runs again; returns `job()`."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            return wait_running(rest, job_id, timeout=max(1.0, deadline - time.monotonic()))
        except OSError as error:  # refused while the jobmanager is away, 404 until it recovered the job
            last = repr(error)
            time.sleep(2)
    raise TimeoutError(f"job {job_id} not running again after {timeout:.0f}s ({last})")
