"""tools/flink, run as a subprocess against a fake Flink REST API that is as strict as Flink 1.20's.

The fake answers like Flink (flink-runtime's rest handlers, flink-runtime-web's jar handlers): a jar is
the one file part of a multipart upload (here: named `jarfile`, its file name ending in .jar), request
bodies are read by a strict mapper (an unknown field, or a field of the wrong type, is a 400), and every
refusal is {"errors": [...]}. `submit-python` runs against a fake `pulumi`, `ssh` and `docker` on PATH:
the SSH command is the stack's, and the remote command is run by a real `sh`.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "flink"
HEX32 = re.compile(r"[0-9a-f]{32}")
JAR_BYTES = b"PK\x03\x04 a jar\r\n--not-a-boundary\r\n\x00\xff the end"


class FlinkError(Exception):
    def __init__(self, status: int, *errors: str):
        super().__init__(errors[0])
        self.status, self.errors = status, list(errors)


def rest_handler_exception(message: str, cause: str | None = None) -> str:
    """Flink 1.20 answers a RestHandlerException with its stringified stack trace (AbstractHandler)."""
    text = (f"org.apache.flink.runtime.rest.handler.RestHandlerException: {message}\n"
            "\tat org.apache.flink.runtime.rest.handler.AbstractHandler.respondAsLeader(AbstractHandler.java:198)")
    return text + (f"\nCaused by: {cause}" if cause else "")


# Request bodies as Flink's strict mapper reads them: field -> type check (null is accepted: @Nullable).
def _string(v):
    return isinstance(v, str)


def _boolean(v):
    return isinstance(v, bool)


def _integer(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _strings(v):
    return isinstance(v, list) and all(isinstance(a, str) for a in v)


def _hex32(v):
    return isinstance(v, str) and HEX32.fullmatch(v) is not None


JAR_RUN_BODY = {  # JarRequestBody + JarRunRequestBody
    "entryClass": _string, "programArgs": _string, "programArgsList": _strings, "parallelism": _integer,
    "jobId": _hex32, "allowNonRestoredState": _boolean, "savepointPath": _string,
    "restoreMode": lambda v: v in ("CLAIM", "NO_CLAIM", "LEGACY"),
    "claimMode": lambda v: v in ("CLAIM", "NO_CLAIM", "LEGACY"),
    "flinkConfiguration": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values())}
SAVEPOINT_BODY = {  # SavepointTriggerRequestBody: kebab-case
    "target-directory": _string, "cancel-job": _boolean, "triggerId": _hex32,
    "formatType": lambda v: v in ("CANONICAL", "NATIVE")}
STOP_BODY = {  # StopWithSavepointRequestBody: camelCase
    "targetDirectory": _string, "drain": _boolean, "triggerId": _hex32,
    "formatType": lambda v: v in ("CANONICAL", "NATIVE")}


def read_body(body: bytes, fields: dict, name: str) -> dict:
    if not body:
        return {}
    refused = FlinkError(400, rest_handler_exception(f"Request did not match expected format {name}."))
    try:
        value = json.loads(body)
    except ValueError:
        raise refused from None
    if not isinstance(value, dict):
        raise refused
    for key, item in value.items():
        if key not in fields or (item is not None and not fields[key](item)):
            raise refused
    return value


def multipart(content_type: str, body: bytes) -> list[tuple[str | None, str | None, bytes]]:
    """(name, filename, content) of each part of a multipart/form-data body."""
    found = re.fullmatch(r'multipart/form-data;\s*boundary="?([^";]+)"?', content_type.strip())
    if not found:
        raise FlinkError(400, rest_handler_exception("Exactly 1 file must be sent, received 0."))
    delimiter = b"--" + found[1].encode()
    if not body.startswith(delimiter):
        raise FlinkError(500, "File upload failed.")
    parts = []
    for chunk in body[len(delimiter):].split(b"\r\n" + delimiter):
        if chunk.startswith(b"--"):
            return parts
        head, separator, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise FlinkError(500, "File upload failed.")
        disposition = next((line.split(":", 1)[1] for line in head.decode().split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'(?:^|;)\s*filename="([^"]*)"', disposition)
        parts.append((name and name[1], filename and filename[1], content))
    raise FlinkError(500, "File upload failed.")  # no closing delimiter


class FakeFlink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.jars: dict[str, bytes] = {}
        self.jobs: dict[str, dict] = {}
        self.triggers: dict[tuple[str, str], dict] = {}
        self.calls: list[dict] = []
        self.savepoints_dir: str | None = "file:/flink-state/savepoints"  # state.savepoints.dir
        self.savepoint_failure: dict | None = None  # a SerializedThrowable, as the savepoint's outcome
        self.savepoint_polls = 2  # the status poll that finds a savepoint COMPLETED
        self.slots_total = 8  # GET /overview: the registered taskmanagers' slots
        self.upcoming: dict[str, list[str]] = {}  # a job's next states, one per GET /jobs/:jobid
        self.failures: dict[str, str] = {}  # a job's latest failure (its trace), for /jobs/:jobid/exceptions
        self.run_failure: str | None = None  # a trace: POST /jars/:jarid/run answers it (400), as Flink does
        self.lock = threading.Lock()

    def add_job(self, name: str, state: str = "RUNNING", start: int | None = None) -> str:
        jid = uuid.uuid4().hex
        start = int(time.time() * 1000) if start is None else start
        self.jobs[jid] = {"jid": jid, "name": name, "start-time": start, "end-time": -1, "duration": 1,
                          "state": state, "last-modification": start,
                          "tasks": {"total": 1, "running": 1, "finished": 0}}
        return jid

    def job(self, jid: str) -> dict:
        if not HEX32.fullmatch(jid):
            raise FlinkError(400, rest_handler_exception(
                f'Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "{jid}".'))
        if jid not in self.jobs:
            raise FlinkError(404, rest_handler_exception(f"Job {jid} not found"))
        return self.jobs[jid]

    def route(self, method: str, path: str, query: dict, headers, body: bytes) -> tuple[int, dict]:
        if (method, path) == ("POST", "/jars/upload"):
            return self.upload(headers.get("Content-Type", ""), body)
        if (method, path) == ("GET", "/jobs/overview"):
            return 200, {"jobs": list(self.jobs.values())}
        if (method, path) == ("GET", "/overview"):
            return 200, self.overview()
        if method == "GET" and (found := re.fullmatch(r"/jobs/([^/]+)", path)):
            return 200, self.details(unquote(found[1]))
        if method == "GET" and (found := re.fullmatch(r"/jobs/([^/]+)/exceptions", path)):
            return 200, self.exceptions(unquote(found[1]))
        if method == "POST" and (found := re.fullmatch(r"/jars/([^/]+)/run", path)):
            return self.run_jar(unquote(found[1]), body)
        if method == "PATCH" and (found := re.fullmatch(r"/jobs/([^/]+)", path)):
            return self.cancel(unquote(found[1]), query, body)
        if method == "POST" and (found := re.fullmatch(r"/jobs/([^/]+)/(savepoints|stop)", path)):
            return self.trigger(unquote(found[1]), found[2], body)
        if method == "GET" and (found := re.fullmatch(r"/jobs/([^/]+)/savepoints/([^/]+)", path)):
            return self.savepoint_status(unquote(found[1]), unquote(found[2]))
        raise FlinkError(404, "Not found: " + path)

    def overview(self) -> dict:
        """ClusterOverviewWithVersion, as Flink 1.20 answers GET /overview."""
        states = [j["state"] for j in self.jobs.values()]
        return {"taskmanagers": (self.slots_total + 1) // 2, "slots-total": self.slots_total,
                "slots-available": self.slots_total, "jobs-running": states.count("RUNNING"),
                "jobs-finished": states.count("FINISHED"), "jobs-cancelled": states.count("CANCELED"),
                "jobs-failed": states.count("FAILED"), "flink-version": "1.20.1", "flink-commit": "8a1ad1b"}

    def details(self, jid: str) -> dict:
        """JobDetailsInfo; a job with upcoming states moves on to the next one at each call."""
        job = self.job(jid)
        if self.upcoming.get(jid):
            job["state"] = self.upcoming[jid].pop(0)
        vertex = {"id": "cbc357ccb763df2852fee8c4fc7d55f2", "name": "Source: numbers -> Map -> Sink: print",
                  "maxParallelism": 128, "parallelism": 2, "status": job["state"], "start-time": job["start-time"],
                  "end-time": -1, "duration": 61_000, "tasks": {"RUNNING": 2}, "metrics": {}}
        return {"jid": jid, "name": job["name"], "isStoppable": False, "state": job["state"],
                "job-type": "STREAMING", "start-time": job["start-time"], "end-time": -1, "duration": 3_723_000,
                "maxParallelism": -1, "now": job["start-time"] + 3_723_000, "timestamps": {},
                "vertices": [vertex], "status-counts": {job["state"]: 1}, "plan": {"jid": jid, "nodes": []}}

    def exceptions(self, jid: str) -> dict:
        """JobExceptionsInfoWithHistory: the latest failure first in exceptionHistory."""
        self.job(jid)
        trace = self.failures.get(jid)
        entries = [{"exceptionName": trace.split(":", 1)[0], "stacktrace": trace, "timestamp": 1_700_000_000_000,
                    "failureLabels": {}, "taskName": "Source: numbers", "endpoint": "10.0.0.5:6127",
                    "taskManagerId": "10.0.0.5:6127-3a4b5c", "concurrentExceptions": []}] if trace else []
        return {"root-exception": trace, "timestamp": 1_700_000_000_000 if trace else None,
                "all-exceptions": [], "truncated": False, "exceptionHistory": {"entries": entries, "truncated": False}}

    def upload(self, content_type: str, body: bytes) -> tuple[int, dict]:
        parts = multipart(content_type, body)
        files = [p for p in parts if p[1] is not None]
        for name, filename, _ in parts:
            if filename is None and name != "request":
                raise FlinkError(400, f"Received unknown attribute {name}.")
        if len(files) != 1 or files[0][0] != "jarfile":
            raise FlinkError(400, rest_handler_exception(f"Exactly 1 file must be sent, received {len(files)}."))
        _, filename, content = files[0]
        if not filename.endswith(".jar"):
            raise FlinkError(400, rest_handler_exception("Only Jar files are allowed."))
        jar_id = f"{uuid.uuid4()}_{filename}"
        self.jars[jar_id] = content
        return 200, {"filename": f"/tmp/flink-web-{uuid.uuid4()}/flink-web-upload/{jar_id}", "status": "success"}

    def run_jar(self, jar_id: str, body: bytes) -> tuple[int, dict]:
        request = read_body(body, JAR_RUN_BODY, "JarRunRequestBody")
        if jar_id not in self.jars:
            raise FlinkError(400, rest_handler_exception(f"Jar file /tmp/flink-web-upload/{jar_id} does not exist"))
        if self.run_failure:
            raise FlinkError(400, self.run_failure)
        if request.get("entryClass") == "does.not.Exist":
            raise FlinkError(400, rest_handler_exception(
                "Could not execute application.",
                "org.apache.flink.client.program.ProgramInvocationException: The program's entry point class "
                "'does.not.Exist' was not found in the jar file."))
        return 200, {"jobid": self.add_job(request.get("entryClass") or "Flink Streaming Job")}

    def cancel(self, jid: str, query: dict, body: bytes) -> tuple[int, dict]:
        read_body(body, {}, "EmptyRequestBody")
        if [m.lower() for m in query.get("mode", ["cancel"])] not in (["cancel"], ["stop"]):
            raise FlinkError(400, rest_handler_exception("Bad request, could not parse parameters: mode"))
        self.job(jid)["state"] = "CANCELED"
        return 202, {}

    def trigger(self, jid: str, kind: str, body: bytes) -> tuple[int, dict]:
        if kind == "stop":
            request, directory_field = read_body(body, STOP_BODY, "StopWithSavepointRequestBody"), "targetDirectory"
        else:
            request, directory_field = read_body(body, SAVEPOINT_BODY, "SavepointTriggerRequestBody"), "target-directory"
        self.job(jid)
        directory = request.get(directory_field) or self.savepoints_dir
        if directory is None:
            raise FlinkError(400, rest_handler_exception(
                f"Config key [state.savepoints.dir] is not set. Property [{directory_field}] must be provided."))
        trigger = request.get("triggerId") or uuid.uuid4().hex
        self.triggers[(jid, trigger)] = {"polls": 0, "stop": kind == "stop", "drain": request.get("drain", False),
                                         "location": f"{directory}/savepoint-{jid[:6]}-{uuid.uuid4().hex[:12]}"}
        return 200, {"request-id": trigger}

    def savepoint_status(self, jid: str, trigger: str) -> tuple[int, dict]:
        self.job(jid)
        if (jid, trigger) not in self.triggers:
            raise FlinkError(404, rest_handler_exception(
                f"There is no savepoint operation with triggerId={trigger} for job {jid}."))
        operation = self.triggers[(jid, trigger)]
        operation["polls"] += 1
        if operation["polls"] < self.savepoint_polls:
            return 200, {"status": {"id": "IN_PROGRESS"}, "operation": None}
        if self.savepoint_failure:
            return 200, {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": self.savepoint_failure}}
        if operation["stop"]:
            self.jobs[jid]["state"] = "FINISHED"
        return 200, {"status": {"id": "COMPLETED"}, "operation": {"location": operation["location"]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        server: FakeFlink = self.server
        with server.lock:
            server.calls.append({"method": method, "path": parts.path, "query": query, "body": body,
                                 "content-type": self.headers.get("Content-Type")})
            try:
                status, answer = server.route(method, parts.path, query, self.headers, body)
            except FlinkError as err:
                status, answer = err.status, {"errors": err.errors}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer("GET")

    def do_POST(self):
        self.answer("POST")

    def do_PATCH(self):
        self.answer("PATCH")

    def do_DELETE(self):
        self.answer("DELETE")


@pytest.fixture
def flink():
    server = FakeFlink()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def tool(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=60,
                          env=env, check=False)


def json_body(call: dict) -> dict:
    return json.loads(call["body"])


def calls(server: FakeFlink, method: str, pattern: str) -> list[dict]:
    return [c for c in server.calls if c["method"] == method and re.fullmatch(pattern, c["path"])]


def link(server: FakeFlink, jid: str) -> str:
    return f"{server.url}/#/job/running/{jid}/overview"


@pytest.fixture
def jar(tmp_path) -> Path:
    path = tmp_path / "word count.jar"  # a space: the jar id goes into a URL path
    path.write_bytes(JAR_BYTES)
    return path


# the fake itself: as strict as Flink -------------------------------------------------------------------


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_fake_flink_refuses_what_flink_refuses(flink):
    flink.jars["x.jar"] = b""
    run = f"{flink.url}/jars/x.jar/run"
    for bad in ({"programArgsList": "a b"}, {"parallelism": "2"}, {"parallelism": True}, {"args": []},
                {"programArgsList": [1]}):
        status, answer = post(run, json.dumps(bad).encode())
        assert status == 400, bad
        assert "Request did not match expected format JarRunRequestBody." in answer["errors"][0]
    assert post(run, b'{"programArgsList": ["a"], "parallelism": 2, "entryClass": "C"}')[0] == 200
    jid = flink.add_job("j")
    assert post(f"{flink.url}/jobs/{jid}/stop", b'{"target-directory": "/x"}')[0] == 400
    assert post(f"{flink.url}/jobs/{jid}/savepoints", b'{"targetDirectory": "/x"}')[0] == 400
    assert post(f"{flink.url}/jobs/{jid}/savepoints", b'{"cancel-job": false}')[0] == 200


# submit --------------------------------------------------------------------------------------------------


def test_submit_jar_with_class_and_args(flink, jar):
    done = tool("--url", flink.url, "submit", str(jar), "--class", "org.example.WordCount", "--parallelism", "3",
                "--input", "/data/in put.txt", "--parallelism", "9")
    assert done.returncode == 0, done.stderr
    [jid] = flink.jobs
    assert done.stdout.splitlines() == [f"job {jid}", link(flink, jid)]
    [upload] = calls(flink, "POST", "/jars/upload")
    assert upload["content-type"].startswith("multipart/form-data; boundary=")
    [(jar_id, content)] = flink.jars.items()
    assert content == JAR_BYTES
    assert jar_id.endswith("_word_count.jar")
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert unquote(run["path"]) == f"/jars/{jar_id}/run"
    # the tool's options right after the jar are its own; the program's arguments, as they are, after them
    assert json_body(run) == {"entryClass": "org.example.WordCount", "parallelism": 3,
                              "programArgsList": ["--input", "/data/in put.txt", "--parallelism", "9"]}


def test_submit_options_before_the_jar_and_after_double_dash(flink, jar):
    done = tool("--url", flink.url + "/", "submit", "--class", "C", str(jar), "--", "--class", "x", "--", "y")
    assert done.returncode == 0, done.stderr
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run) == {"entryClass": "C", "programArgsList": ["--class", "x", "--", "y"]}
    [jid] = flink.jobs
    assert link(flink, jid) in done.stdout


def test_submit_without_class_or_args_from_a_savepoint(flink, jar):
    done = tool("--url", flink.url, "submit", str(jar), "--savepoint", "file:/flink-state/savepoints/sp-1",
                "--allow-non-restored-state")
    assert done.returncode == 0, done.stderr
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run) == {"programArgsList": [], "savepointPath": "file:/flink-state/savepoints/sp-1",
                              "allowNonRestoredState": True}


def test_submit_refused_prints_flinks_error_text(flink, jar):
    done = tool("--url", flink.url, "submit", str(jar), "--class", "does.not.Exist")
    assert done.returncode != 0
    assert "Flink refused POST /jars/" in done.stderr
    assert "(HTTP 400)" in done.stderr
    assert "Could not execute application." in done.stderr
    assert "entry point class 'does.not.Exist' was not found in the jar file" in done.stderr
    assert "/#/job/" not in done.stdout
    assert not flink.jobs


def test_submit_a_file_that_is_not_a_jar_is_refused_by_flink(flink, tmp_path):
    job = tmp_path / "job.zip"
    job.write_bytes(JAR_BYTES)
    done = tool("--url", flink.url, "submit", str(job))
    assert done.returncode != 0
    assert "Only Jar files are allowed." in done.stderr
    assert not calls(flink, "POST", r"/jars/[^/]+/run")


def test_submit_a_missing_jar_fails_before_any_call(flink, tmp_path):
    done = tool("--url", flink.url, "submit", str(tmp_path / "nope.jar"), "--class", "C")
    assert done.returncode != 0
    assert "cannot read the jar" in done.stderr and "nope.jar" in done.stderr
    assert "Traceback" not in done.stderr
    assert not flink.calls


# list, cancel --------------------------------------------------------------------------------------------


def test_list_newest_first(flink):
    old = flink.add_job("old job", state="FINISHED", start=1_000)
    new = flink.add_job("new job", start=2_000)
    done = tool("--url", flink.url, "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [new, old]
    assert lines[0].split(None, 2)[1:] == ["RUNNING", "new job"]
    assert lines[1].split(None, 2)[1:] == ["FINISHED", "old job"]


def test_list_no_jobs(flink):
    done = tool("--url", flink.url, "list")
    assert (done.returncode, done.stdout.strip()) == (0, "no jobs")


def test_cancel(flink):
    jid = flink.add_job("streaming")
    done = tool("--url", flink.url, "cancel", jid)
    assert done.returncode == 0, done.stderr
    [patch] = calls(flink, "PATCH", f"/jobs/{jid}")
    assert patch["query"] == {"mode": ["cancel"]}
    assert flink.jobs[jid]["state"] == "CANCELED"
    assert done.stdout.splitlines() == [f"cancelling job {jid}", link(flink, jid)]


def test_cancel_an_unknown_job_is_refused(flink):
    jid = uuid.uuid4().hex
    done = tool("--url", flink.url, "cancel", jid)
    assert done.returncode != 0
    assert f"Flink refused PATCH /jobs/{jid}?mode=cancel (HTTP 404)" in done.stderr
    assert f"Job {jid} not found" in done.stderr


# savepoints ----------------------------------------------------------------------------------------------


def test_savepoint_triggers_then_polls_until_completed(flink):
    jid = flink.add_job("streaming")
    done = tool("--url", flink.url, "savepoint", jid)
    assert done.returncode == 0, done.stderr
    [trigger] = calls(flink, "POST", f"/jobs/{jid}/savepoints")
    assert json_body(trigger) == {"cancel-job": False}
    [(key, operation)] = flink.triggers.items()
    assert operation["polls"] == 2  # IN_PROGRESS, then COMPLETED
    assert len(calls(flink, "GET", f"/jobs/{jid}/savepoints/{key[1]}")) == 2
    assert done.stdout.splitlines() == [f"savepoint {operation['location']}", f"job {jid}", link(flink, jid)]
    assert operation["location"].startswith("file:/flink-state/savepoints/savepoint-")
    assert flink.jobs[jid]["state"] == "RUNNING"


def test_savepoint_to_a_directory(flink):
    jid = flink.add_job("streaming")
    flink.savepoints_dir = None
    done = tool("--url", flink.url, "savepoint", jid, "--dir", "file:/elsewhere")
    assert done.returncode == 0, done.stderr
    [trigger] = calls(flink, "POST", f"/jobs/{jid}/savepoints")
    assert json_body(trigger) == {"cancel-job": False, "target-directory": "file:/elsewhere"}
    assert "savepoint file:/elsewhere/savepoint-" in done.stdout


def test_savepoint_without_directory_on_a_cluster_without_default_is_refused(flink):
    jid = flink.add_job("streaming")
    flink.savepoints_dir = None
    done = tool("--url", flink.url, "savepoint", jid)
    assert done.returncode != 0
    assert "Config key [state.savepoints.dir] is not set. Property [target-directory] must be provided." \
        in done.stderr


def test_stop_with_savepoint(flink):
    jid = flink.add_job("streaming")
    done = tool("--url", flink.url, "savepoint", jid, "--stop", "--dir", "file:/sp")
    assert done.returncode == 0, done.stderr
    [stop] = calls(flink, "POST", f"/jobs/{jid}/stop")
    assert json_body(stop) == {"drain": False, "targetDirectory": "file:/sp"}
    assert not calls(flink, "POST", f"/jobs/{jid}/savepoints")
    [operation] = flink.triggers.values()
    assert done.stdout.splitlines() == [f"savepoint {operation['location']}", f"stopped job {jid}",
                                        link(flink, jid)]
    assert flink.jobs[jid]["state"] == "FINISHED"


def test_stop_with_drain_to_the_default_directory(flink):
    jid = flink.add_job("streaming")
    done = tool("--url", flink.url, "savepoint", jid, "--stop", "--drain")
    assert done.returncode == 0, done.stderr
    [stop] = calls(flink, "POST", f"/jobs/{jid}/stop")
    assert json_body(stop) == {"drain": True}
    assert "savepoint file:/flink-state/savepoints/savepoint-" in done.stdout


def test_drain_without_stop_is_a_usage_error(flink):
    done = tool("--url", flink.url, "savepoint", uuid.uuid4().hex, "--drain")
    assert done.returncode == 2
    assert "--drain goes with --stop" in done.stderr
    assert not flink.calls


def test_a_savepoint_that_never_completes_fails_with_the_old_tools_code(flink):
    jid = flink.add_job("streaming")
    flink.savepoint_polls = 10 ** 9
    done = tool("--url", flink.url, "savepoint", jid, "--timeout", "0.2")
    assert done.returncode == 1  # flink-swarm's own code for a timeout is 124; the old tool knew only 1
    assert calls(flink, "GET", f"/jobs/{jid}/savepoints/.+") and "0.2" in done.stderr, done.stderr


def test_a_failed_savepoint_prints_its_cause(flink):
    jid = flink.add_job("streaming")
    flink.savepoint_failure = {
        "class": "org.apache.flink.runtime.checkpoint.CheckpointException",
        "stack-trace": "org.apache.flink.runtime.checkpoint.CheckpointException: Task has failed.\n\tat ...",
        "serialized-throwable": "rO0ABXNy"}
    done = tool("--url", flink.url, "savepoint", jid)
    assert done.returncode != 0
    assert f"the savepoint of job {jid} failed" in done.stderr
    assert "CheckpointException: Task has failed." in done.stderr


# reaching the cluster ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url():
    url = f"http://127.0.0.1:{free_port()}"
    done = tool("--url", url, "list")
    assert done.returncode != 0
    assert f"cannot reach Flink at {url}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_url_without_scheme_is_refused_clearly():
    done = tool("--url", "127.0.0.1:8081", "list")
    assert done.returncode != 0
    assert "not an http(s) URL: '127.0.0.1:8081'" in done.stderr


def test_not_flink_behind_the_url():
    """Something else than Flink's REST API (here: a web server answering HTML) is said so, not a traceback."""

    class Html(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = tool("--url", f"http://127.0.0.1:{server.server_address[1]}", "list")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode != 0
    assert "is not Flink's REST API?" in done.stderr and "<html>hello</html>" in done.stderr


# the stack's outputs: a fake pulumi; submit-python: a fake ssh and docker --------------------------------


def executable(path: Path, text: str) -> None:
    path.write_text(f"#!{sys.executable}\n{text}")
    path.chmod(0o755)


FAKE_PULUMI = """import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["pulumi", *sys.argv[1:]]) + "\\n")
print(os.environ["FAKE_OUTPUTS"])
"""
FAKE_SSH = """import json, os, socket, subprocess, sys, threading, time
# ssh as the job CLI runs it: options, `--`, the host, then a remote command or (-N -L) a tunnel.
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["ssh", *argv]) + "\\n")
end = argv.index("--")  # the CLI always ends its options with `--`
options, host, command = argv[:end], argv[end + 1], argv[end + 2:]
if os.environ.get("FAKE_SSH_FAIL"):
    sys.exit(f"flink@{host}: Permission denied (publickey).")
if "-N" not in options:
    assert len(command) == 1, command  # one string, for the node's shell
    sys.exit(subprocess.run(["sh", "-c", command[0]], check=False).returncode)  # the remote command
if os.environ.get("FAKE_SSH_HANG"):  # connects forever, never listens
    time.sleep(3600)
time.sleep(float(os.environ.get("FAKE_SSH_DELAY", "0")))  # a dial of that long
bind, port, to_host, to_port = options[options.index("-L") + 1].split(":")
assert (bind, to_host, to_port) == ("127.0.0.1", "127.0.0.1", "8081"), options  # the node's own loopback
node_host, node_port = os.environ["FAKE_NODE_REST"].rsplit(":", 1)  # what answers on the node's 127.0.0.1:8081
server = socket.create_server((bind, int(port)))


def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


while True:
    client, _ = server.accept()
    try:
        upstream = socket.create_connection((node_host, int(node_port)))
    except OSError:
        client.close()
        continue
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
"""
FAKE_DOCKER = """import io, json, os, sys, tarfile
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker", *args]) + "\\n")
if args[0] == "ps":
    assert args[1:] == ["-q", "--filter", "label=com.docker.swarm.service.name=jobmanager"], args
    if not os.environ.get("FAKE_NO_CONTAINER"):
        print("c0ffee")
elif args[0] == "cp":
    assert args[1:] == ["--", "-", "c0ffee:/tmp"], args  # `--` before the file names
    tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read())).extractall(os.environ["FAKE_CONTAINER_TMP"],
                                                                          filter="data")
elif args[0] == "exec":
    if args[5:6] == ["-p"]:  # flink-swarm run -p N --python: `flink run -d -p N -py ...`
        args = args[:5] + args[7:]
    assert args[1:6] == ["c0ffee", "flink", "run", "-d", "-py"], args
    print("Job has been submitted with JobID 0123456789abcdef0123456789abcdef")
"""
JM = "azure-flink-jobmanager"
JM_SSH = {"host": "203.0.113.7", "port": 2222, "user": "flink"}


def ssh_options(home: Path, key: bool = True) -> list[str]:
    """The options the CLI gives ssh for the stack `dev`, its files in home's ~/.ssh/flink-swarm."""
    files = home / ".ssh" / "flink-swarm" / "flink-swarm-dev"
    return [*(["-o", f"IdentityFile={files}", "-o", "IdentitiesOnly=yes"] if key else []),
            "-o", f"UserKnownHostsFile={files}.known_hosts", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR"]


@pytest.fixture
def stack(tmp_path):
    """A PATH with fake pulumi, ssh and docker (and the system's sh, tar, head); their calls in `log`.
    The fake ssh's tunnels lead to FAKE_NODE_REST (the fake Flink a test sets there, standing for the
    jobmanager node's 127.0.0.1:8081)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "pulumi", FAKE_PULUMI)
    executable(bin_dir / "ssh", FAKE_SSH)
    executable(bin_dir / "docker", FAKE_DOCKER)
    container_tmp = tmp_path / "container-tmp"
    container_tmp.mkdir()
    log = tmp_path / "calls.jsonl"
    outputs = {"flinkRest": {"node": JM, "port": 8081, "url": None}, "flinkUi": "flink-swarm ui --stack dev",
               "nodes": [{"name": "azure-swarm-manager", "role": "manager"}, {"name": JM, "role": "jobmanager"}],
               "ssh": {"azure-swarm-manager": {"host": "203.0.113.5", "port": 22, "user": "flink"}, JM: JM_SSH},
               "sshIdentity": {"stack": "dev", "agent": False}}

    def logged() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return SimpleNamespace(
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_LOG": str(log),
             "FAKE_OUTPUTS": json.dumps(outputs), "FAKE_CONTAINER_TMP": str(container_tmp),
             "FAKE_NODE_REST": "127.0.0.1:9"},  # nothing: a test that tunnels sets its fake Flink
        tmp=container_tmp, calls=logged, home=tmp_path)


def node_rest(server: FakeFlink) -> str:
    """FAKE_NODE_REST for a fake Flink: what the fake ssh's tunnels lead to."""
    return f"127.0.0.1:{server.server_address[1]}"


def test_list_goes_through_an_ssh_tunnel_to_the_jobmanager(flink, stack):
    jid = flink.add_job("from the stack")
    done = tool("--stack", "dev", "list", env={**stack.env, "FAKE_NODE_REST": node_rest(flink)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == jid
    pulumi, ssh = stack.calls()
    assert pulumi == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    port = int(ssh[ssh.index("-L") + 1].split(":")[1])
    assert ssh == ["ssh", *ssh_options(stack.home), "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=10",
                   "-o", "ServerAliveCountMax=3", "-L", f"127.0.0.1:{port}:127.0.0.1:8081",
                   "-p", "2222", "-l", "flink", "--", "203.0.113.7"]


def test_without_url_and_without_pulumi(tmp_path):
    done = tool("list", env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "the Pulumi CLI is not on PATH: install it, or give the cluster with --url" in done.stderr


def test_submit_python_needs_the_stack_even_with_url(flink, tmp_path):
    job = tmp_path / "job.py"
    job.write_text("print('hi')\n")
    done = tool("--url", flink.url, "submit-python", str(job), env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "submit-python copies the job to the jobmanager's node over SSH" in done.stderr
    assert "`--url` is not enough" in done.stderr and "the Pulumi CLI is not on PATH" in done.stderr
    assert not flink.calls


def test_submit_python_over_the_stacks_ssh(stack, tmp_path):
    job = tmp_path / "jobs" / "word count.py"
    job.parent.mkdir()
    job.write_text("print('a PyFlink job')\n")
    args = ["--input", "it's here", "--", "$(echo substituted)", "*"]  # verbatim: no shell expansion
    done = tool("--stack", "dev", "submit-python", str(job), "--", *args, env=stack.env)
    assert done.returncode == 0, done.stderr
    jid = "0123456789abcdef0123456789abcdef"
    # the job's page where `flink-swarm ui` serves it (no tunnel was needed to submit it)
    assert done.stdout.splitlines() == [f"job {jid}", f"http://127.0.0.1:8081/#/job/running/{jid}/overview"]
    assert (stack.tmp / "word count.py").read_text() == job.read_text()
    pulumi, ssh, *docker = stack.calls()
    assert pulumi == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    assert ssh[:-1] == ["ssh", *ssh_options(stack.home), "-p", "2222", "-l", "flink", "--", "203.0.113.7"]
    assert [d[1] for d in docker] == ["ps", "cp", "exec"]
    assert docker[-1][1:] == ["exec", "c0ffee", "flink", "run", "-d", "-py", "/tmp/word count.py", *args]


def test_submit_python_without_a_jobmanager_container(stack, tmp_path):
    job = tmp_path / "job.py"
    job.write_text("print('hi')\n")
    done = tool("submit-python", str(job), env={**stack.env, "FAKE_NO_CONTAINER": "1"})
    assert done.returncode != 0
    assert f"flink run -py on {JM} failed:" in done.stderr
    assert "no jobmanager container on this node" in done.stderr
    assert [c[1] for c in stack.calls() if c[0] == "docker"] == ["ps"]


def test_submit_python_ssh_refused(stack, tmp_path):
    job = tmp_path / "job.py"
    job.write_text("print('hi')\n")
    done = tool("submit-python", str(job), "x", env={**stack.env, "FAKE_SSH_FAIL": "1"})
    assert done.returncode != 0
    assert "Permission denied (publickey)." in done.stderr


def test_submit_python_missing_job(stack, tmp_path):
    done = tool("submit-python", str(tmp_path / "nope.py"), env=stack.env)
    assert done.returncode != 0
    assert "no such job file:" in done.stderr
    assert [c[0] for c in stack.calls()] == ["pulumi"]


def test_the_tool_is_an_executable_stdlib_script():
    """The shim, and the package it runs (beside it, installed or not), need nothing but Python 3."""
    assert os.access(TOOL, os.X_OK)
    assert TOOL.read_text().startswith("#!/usr/bin/env python3\n")
    for source in [TOOL, *sorted((TOOL.parent / "flink_swarm_cli").glob("*.py"))]:
        imports = re.findall(r"^\s*(?:import|from) (\w+)", source.read_text(), re.MULTILINE)
        assert set(imports) <= set(sys.stdlib_module_names) | {"__future__", "flink_swarm_cli"}, source
