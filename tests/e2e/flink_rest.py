"""The few calls of Flink's REST API the end-to-end tests need (stdlib only); jobs are submitted with
the repository's own job CLI (`flink-swarm`, tools/flink_swarm_cli), as a user submits them.

`rest` is the base URL of the jobmanager's REST endpoint as this machine reaches it: a local stack's
(`http://127.0.0.1:<uiPort>`), or a `Tunnel`, whose str() is the local end of `flink-swarm ui`'s SSH
tunnel to the jobmanager's node (no firewall opens 8081). Every wait polls through proc.wait.
"""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Optional

from .proc import wait

JOBS = Path(__file__).resolve().parent / "jobs"  # the test jobs' sources
CLI = [sys.executable, "-m", "flink_swarm_cli"]  # `flink-swarm` (requirements-dev.txt installs it)


class Tunnel:
    """`flink-swarm ui --port 0` in the stack's project, as a user opens the UI: str() is its URL,
    opened again when the tunnel has ended (its node restarted, say)."""

    def __init__(self, project):
        self.project = project
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def __str__(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            self.open()
        return self.url

    def open(self) -> None:
        self.close()
        self.proc = subprocess.Popen([*CLI, "ui", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=self.project.dir, env=self.project.env)
        line = self.proc.stdout.readline().strip()  # once the tunnel listens
        if not line.startswith("http://127.0.0.1:"):
            self.proc.wait(30)
            raise RuntimeError(f"flink-swarm ui failed: {line}{self.proc.stderr.read()}")
        self.url = line

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the CLI closes its ssh on the way out
            self.proc.wait(30)


def get(rest, path: str) -> dict:
    with urllib.request.urlopen(f"{rest}{path}", timeout=10) as response:
        return json.load(response)


def wait_taskmanagers(rest, count: int, timeout: float = 300, exactly: bool = False) -> list[dict]:
    """Wait until at least (or `exactly`) `count` taskmanagers are registered; returns them."""
    last = ["no answer yet"]

    def registered() -> Optional[list[dict]]:
        taskmanagers = _answer(rest, "/taskmanagers", last)
        if taskmanagers is None:
            return None
        taskmanagers = taskmanagers["taskmanagers"]
        last[0] = f"{len(taskmanagers)} taskmanager(s) registered"
        return taskmanagers if len(taskmanagers) == count or (len(taskmanagers) > count and not exactly) else None

    return wait(f"{rest}: {count} taskmanager(s)", registered, timeout, lambda: last[0], interval=2)


def cli(rest, *args: str, project=None) -> dict:
    """`flink-swarm --output json ARGS...`, as a user runs it: with `--url REST` (no Pulumi CLI needed),
    or (rest None) in the stack's `project`, where it finds the cluster through the stack's outputs
    itself (through its own SSH tunnel, or a local stack's URL); what it prints."""
    where = ["--url", str(rest)] if rest is not None else []
    proc = subprocess.run([*CLI, *where, "--output", "json", *args], capture_output=True, text=True, timeout=300,
                          cwd=project.dir if project else None, env=project.env if project else None)
    if proc.returncode != 0:
        raise RuntimeError(f"flink-swarm {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout)


def run_jar(rest, jar: Path, project=None) -> str:
    """Submit `jar` with `flink-swarm run` (upload, run its main class); returns the job id. With
    `project` (and rest None), the CLI finds the cluster itself."""
    return cli(rest, "run", str(jar), project=project)["job_id"]


def wait_job(rest, job_id: str, timeout: float = 300) -> str:
    """Wait until the job reaches a terminal state; returns it, or raises with Flink's exception."""
    last = ["unknown"]

    def finished() -> Optional[str]:
        last[0] = state = get(rest, f"/jobs/{job_id}")["state"]
        if state in ("FAILED", "CANCELED"):
            exceptions = get(rest, f"/jobs/{job_id}/exceptions")
            raise RuntimeError(f"job {job_id} {state}:\n{exceptions.get('root-exception')}")
        return state if state == "FINISHED" else None

    return wait(f"job {job_id}", finished, timeout, lambda: f"still {last[0]}", interval=2)


def word_counts(rest, job_id: str) -> dict[str, int]:
    """The WordCount job's result: its accumulators named "word:<word>" (value = count)."""
    accumulators = get(rest, f"/jobs/{job_id}/accumulators")["user-task-accumulators"]
    return {a["name"].removeprefix("word:"): int(a["value"])
            for a in accumulators if a["name"].startswith("word:")}


def job(rest, job_id: str) -> dict:
    """The job's state, start time and restarts (its `numRestarts` metric)."""
    details = get(rest, f"/jobs/{job_id}")
    restarts = get(rest, f"/jobs/{job_id}/metrics?get=numRestarts")
    return {"state": details["state"], "start-time": details["start-time"],
            "restarts": int(restarts[0]["value"]) if restarts else 0}


def wait_running(rest, job_id: str, timeout: float = 120) -> dict:
    """Wait until every task of the job runs; returns `job()`."""
    return _wait_running(rest, job_id, timeout, away=False)


def _wait_running(rest, job_id: str, timeout: float, away: bool) -> dict:
    """`wait_running`; `away`: the REST endpoint may refuse meanwhile (404 until it recovered the job)."""
    last = ["no answer yet"]

    def running() -> Optional[dict]:
        try:
            details = get(rest, f"/jobs/{job_id}")
            last[0] = details["state"]
            runs = details["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in details["vertices"])
            return job(rest, job_id) if runs else None
        except OSError as error:
            if not away:
                raise
            last[0] = repr(error)
            return None

    return wait(f"job {job_id} running", running, timeout, lambda: f"it is {last[0]}", interval=2)


def _answer(rest, path: str, last: list[str]) -> Any:
    """GET `path`, or None (the error kept in `last`) while the endpoint refuses."""
    try:
        return get(rest, path)
    except OSError as error:
        last[0] = repr(error)
        return None


def checkpoints(rest, job_id: str) -> dict:
    """The job's checkpoint statistics: `counts`, and `latest` completed and restored checkpoints."""
    return get(rest, f"/jobs/{job_id}/checkpoints")


def wait_checkpoint(rest, job_id: str, after: int = 0, timeout: float = 120) -> dict:
    """Wait for a completed checkpoint with an id above `after`; returns its statistics."""
    def completed() -> Optional[dict]:
        latest = (checkpoints(rest, job_id).get("latest") or {}).get("completed")
        return latest if latest and latest["id"] > after else None

    return wait(f"job {job_id}: a checkpoint after {after}", completed, timeout)


def gauge(rest, job_id: str, name: str, timeout: float = 60) -> int:
    """The value of a job's metric `name`, from whichever vertex has it (first subtask); it shows up
    once the jobmanager fetched the task's metrics (metrics.fetcher.update-interval, 10 s)."""
    def value() -> Optional[list]:  # [the value], so that a 0 is found too
        for vertex in get(rest, f"/jobs/{job_id}")["vertices"]:
            path = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
            ids = [m["id"] for m in get(rest, path) if m["id"].endswith(f".{name}")]
            values = get(rest, f"{path}?get={ids[0]}") if ids else []
            if values:
                return [int(values[0]["value"])]
        return None

    return wait(f"job {job_id}: metric {name}", value, timeout, interval=2)[0]


def wait_recovered(rest, job_id: str, timeout: float = 240) -> dict:
    """Wait (through a REST endpoint that is away meanwhile) until the job runs again; returns `job()`."""
    return _wait_running(rest, job_id, timeout, away=True)
