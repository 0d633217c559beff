"""The job CLI, `flink-swarm` (tools/flink_swarm_cli): main(argv) in-process, and the installed console
command as a subprocess, against the fake Flink REST API of test_flink_tool (as strict as Flink 1.20's)
and a fake `pulumi`, `ssh` and `docker` on PATH."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.harness import as_from_a_terminal
from tests.test_flink_tool import (JAR_BYTES, JM, calls, flink, jar, json_body, link, node_rest,  # noqa: F401
                                   ssh_options, stack)

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

from flink_swarm_cli import jobs, main  # noqa: E402
from flink_swarm_cli.main import split_program_args  # noqa: E402


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(jobs, "POLL_SECONDS", 0.01)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def java_trace(headline: str, *causes: str, frames: int = 14) -> str:
    """A Java stack trace as Flink's REST handlers stringify it: each exception's line, its frames,
    "... N more"; 50-80 lines for three or four causes."""
    lines = [headline] + [f"\tat org.apache.flink.runtime.rest.handler.Frame{i}.call(Frame{i}.java:{100 + i})"
                          for i in range(frames)]
    for cause in causes:
        lines += [f"Caused by: {cause}"] + [f"\tat org.apache.flink.client.Step{i}.run(Step{i}.java:{40 + i})"
                                            for i in range(frames)] + [f"\t... {frames // 2} more"]
    return "\n".join(lines)


RUN_FAILURE = java_trace(
    "org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.",
    "java.util.concurrent.CompletionException: org.apache.flink.util.FlinkRuntimeException: Could not execute "
    "application.",
    "org.apache.flink.util.FlinkRuntimeException: Could not execute application.",
    "org.apache.flink.client.program.ProgramInvocationException: The main method caused an error: --input is "
    "required",
    "java.lang.IllegalArgumentException: --input is required")


# Flink's argument rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words, program", [
    (["run", "--class", "C", "-p", "2", "a.jar", "--class", "x", "-p", "9"],
     ["run", "--class", "C", "-p", "2", "a.jar"], ["--class", "x", "-p", "9"]),
    (["--url", "http://h:8081", "run", "a.jar", "--", "x"], ["--url", "http://h:8081", "run", "a.jar"], ["x"]),
    (["run", "a.jar", "x", "--", "y"], ["run", "a.jar"], ["x", "--", "y"]),
    (["run", "a.jar", "--", "--", "y"], ["run", "a.jar"], ["--", "y"]),
    (["run", "-p4", "--class=C", "--output", "json", "a.jar", "-v"],
     ["run", "-p4", "--class=C", "--output", "json", "a.jar"], ["-v"]),
    (["run", "--", "-odd.jar", "x"], ["run", "--", "-odd.jar"], ["x"]),
    (["--stack", "run", "run", "-py", "job.py", "-p", "2"], ["--stack", "run", "run", "-py", "job.py"], ["-p", "2"]),
    (["run", "--python=job.py", "--", "a"], ["run", "--python=job.py"], ["a"]),
    (["list", "--output", "json"], ["list", "--output", "json"], []),
])
def test_options_before_the_jar_everything_after_it_is_the_programs(argv, words, program):
    assert split_program_args(argv) == (words, program)


def test_run_options_before_the_jar_and_the_programs_own_after_it(flink, jar, capsys):
    code, out, err = cli(capsys, "--url", flink.url, "run", "-c", "org.example.WordCount", "--parallelism", "3",
                         str(jar), "--class", "x", "--parallelism", "9", "--input", "/data/in put.txt")
    assert code == 0, err
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run) == {"entryClass": "org.example.WordCount", "parallelism": 3,
                              "programArgsList": ["--class", "x", "--parallelism", "9", "--input", "/data/in put.txt"]}
    [jid] = flink.jobs
    assert out.splitlines() == [f"job {jid}", link(flink, jid)]


def test_run_from_a_savepoint_with_flinks_short_options(flink, jar, capsys):
    code, _, err = cli(capsys, "--url", flink.url, "run", "-s", "file:/sp/savepoint-1", "-n", str(jar), "--", "-n")
    assert code == 0, err
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run) == {"programArgsList": ["-n"], "savepointPath": "file:/sp/savepoint-1",
                              "allowNonRestoredState": True}


@pytest.mark.parametrize("argv, message", [
    (["run"], "run takes a JAR or --python JOB.py"),
    (["run", "a.jar", "--python", "b.py"], None),  # --python after the jar is the program's: fine to parse
    (["run", "--python", "b.py", "--class"], None),
    (["run", "-py", "b.py", "--", "x"], None),
    (["run", "--python", "b.py", "c.jar"], None),
    (["stop"], "the following arguments are required: job_id"),
    (["savepoint", "j", "--drain"], "unrecognized arguments: --drain"),
])
def test_usage(argv, message, capsys, monkeypatch):
    from flink_swarm_cli.main import parse
    if message is None:
        parse(argv, "flink-swarm")  # no SystemExit
        return
    with pytest.raises(SystemExit) as done:
        parse(argv, "flink-swarm")
    assert done.value.code == 2
    assert message in capsys.readouterr().err


def test_a_usage_error_is_exit_code_2_from_main(capsys, flink):
    code, out, err = cli(capsys, "--url", flink.url, "run", "--class", "C")
    assert code == 2 and out == ""
    assert "run takes a JAR or --python JOB.py" in err
    assert not flink.calls


def test_global_options_also_after_the_command_word(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "list", "--url", flink.url, "--output", "json")
    assert code == 0, err
    assert [j["job_id"] for j in json.loads(out)["jobs"]] == [jid]


# each command, as text and as JSON ----------------------------------------------------------------------


def test_run_json(flink, jar, capsys):
    code, out, err = cli(capsys, "--output", "json", "--url", flink.url, "run", str(jar), "a")
    assert code == 0, err
    [jid] = flink.jobs
    assert json.loads(out) == {"job_id": jid, "url": link(flink, jid)}


def test_list_json_newest_first(flink, capsys):
    old = flink.add_job("old job", state="FINISHED", start=1_000)
    new = flink.add_job("new job", start=2_000)
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "list")
    assert code == 0, err
    assert json.loads(out) == {"jobs": [
        {"job_id": new, "name": "new job", "state": "RUNNING", "start_time": 2_000, "end_time": -1,
         "url": link(flink, new)},
        {"job_id": old, "name": "old job", "state": "FINISHED", "start_time": 1_000, "end_time": -1,
         "url": link(flink, old)}]}


def test_list_shows_a_dash_for_what_the_answer_leaves_out(flink, capsys):
    jid = flink.add_job("nameless")
    del flink.jobs[jid]["name"], flink.jobs[jid]["state"]
    code, out, err = cli(capsys, "--url", flink.url, "list")
    assert (code, out.split()) == (0, [jid, "-", "-"]), err


def test_list_no_jobs_json(flink, capsys):
    assert cli(capsys, "--url", flink.url, "--output", "json", "list")[:2] == (0, '{\n  "jobs": []\n}\n')


def test_describe(flink, capsys):
    jid = flink.add_job("ticker", start=1_700_000_000_000)
    code, out, err = cli(capsys, "--url", flink.url, "describe", jid)
    assert code == 0, err
    assert out.splitlines() == [
        f"job {jid}  ticker", "state     RUNNING", "started   2023-11-14 22:13:20 UTC  (for 1h 2m 3s)",
        "tasks     RUNNING      parallelism 2  Source: numbers -> Map -> Sink: print", link(flink, jid)]


def test_describe_json_with_the_latest_failures_root_cause(flink, capsys):
    jid = flink.add_job("ticker", state="RESTARTING", start=5)
    flink.failures[jid] = java_trace("org.apache.flink.runtime.JobException: Recovery is suppressed",
                                     "java.io.IOException: disk full on /flink-state")
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "describe", jid)
    assert code == 0, err
    assert json.loads(out) == {
        "job_id": jid, "name": "ticker", "state": "RESTARTING", "start_time": 5, "end_time": -1,
        "duration_ms": 3_723_000, "vertices": [{"name": "Source: numbers -> Map -> Sink: print", "parallelism": 2,
                                                 "status": "RESTARTING"}],
        "last_failure": "IOException: disk full on /flink-state", "url": link(flink, jid)}
    assert [c["path"] for c in flink.calls] == [f"/jobs/{jid}", f"/jobs/{jid}/exceptions"]


def test_describe_text_names_the_failure(flink, capsys):
    jid = flink.add_job("ticker", state="FAILED")
    flink.failures[jid] = "java.lang.ArithmeticException: / by zero\n\tat org.example.Ticker.map(Ticker.java:9)"
    code, out, _ = cli(capsys, "--url", flink.url, "describe", jid)
    assert code == 0
    assert "failure   ArithmeticException: / by zero" in out.splitlines()


def test_describe_an_unknown_job(flink, capsys):
    jid = uuid.uuid4().hex
    code, out, err = cli(capsys, "--url", flink.url, "describe", jid)
    assert (code, out) == (1, "")
    assert err == f"flink-swarm: Flink refused GET /jobs/{jid} (HTTP 404): Job {jid} not found " \
                  "(--verbose: the full text)\n"


def test_wait_until_finished(flink, capsys):
    jid = flink.add_job("batch")
    flink.upcoming[jid] = ["RUNNING", "RUNNING", "FINISHED"]
    code, out, err = cli(capsys, "--url", flink.url, "wait", jid)
    assert (code, out, err) == (0, f"job {jid} FINISHED\n", "")
    assert len(calls(flink, "GET", f"/jobs/{jid}")) == 3


def test_wait_for_a_job_that_fails_says_why_and_exits_1(flink, capsys):
    jid = flink.add_job("batch")
    flink.upcoming[jid] = ["RUNNING", "SUSPENDED", "RESTARTING", "FAILED"]  # SUSPENDED: not terminal for good
    flink.failures[jid] = java_trace("org.apache.flink.runtime.JobException: Recovery is suppressed by "
                                     "NoRestartBackoffTimeStrategy", "java.lang.ArithmeticException: / by zero")
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "wait", jid)
    assert code == 1, err
    assert json.loads(out) == {"job_id": jid, "state": "FAILED", "finished": False,
                               "root_cause": "ArithmeticException: / by zero", "url": link(flink, jid)}
    assert len(calls(flink, "GET", f"/jobs/{jid}")) == 4


def test_wait_for_a_cancelled_job_exits_1(flink, capsys):
    jid = flink.add_job("streaming", state="CANCELED")
    assert cli(capsys, "--url", flink.url, "wait", jid)[:2] == (1, f"job {jid} CANCELED\n")


def test_wait_times_out_with_124(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--url", flink.url, "wait", jid, "--timeout", "0.05")
    assert (code, out) == (124, "")
    assert err == f"flink-swarm: job {jid} is still RUNNING after 0.05s\n"


def test_cancel_json(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--url", flink.url, "cancel", jid, "--output", "json")
    assert code == 0, err
    assert json.loads(out) == {"job_id": jid, "url": link(flink, jid)}
    assert flink.jobs[jid]["state"] == "CANCELED"


def test_savepoint_json(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "savepoint", jid, "--dir", "file:/sp")
    assert code == 0, err
    [trigger] = calls(flink, "POST", f"/jobs/{jid}/savepoints")
    assert json_body(trigger) == {"cancel-job": False, "target-directory": "file:/sp"}
    [operation] = flink.triggers.values()
    assert json.loads(out) == {"job_id": jid, "savepoint": operation["location"], "url": link(flink, jid)}
    assert flink.jobs[jid]["state"] == "RUNNING"


def test_stop_with_savepoint_dir_and_drain(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--url", flink.url, "stop", jid, "--savepoint-dir", "file:/sp", "--drain")
    assert code == 0, err
    [stop] = calls(flink, "POST", f"/jobs/{jid}/stop")
    assert json_body(stop) == {"drain": True, "targetDirectory": "file:/sp"}
    [operation] = flink.triggers.values()
    assert out.splitlines() == [f"savepoint {operation['location']}", f"stopped job {jid}", link(flink, jid)]
    assert flink.jobs[jid]["state"] == "FINISHED"


def test_stop_json_to_the_default_directory(flink, capsys):
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "stop", jid)
    assert code == 0, err
    [stop] = calls(flink, "POST", f"/jobs/{jid}/stop")
    assert json_body(stop) == {"drain": False}
    answer = json.loads(out)
    assert answer["stopped"] is True and answer["savepoint"].startswith("file:/flink-state/savepoints/savepoint-")


# errors as a user reads them ----------------------------------------------------------------------------


def test_flinks_refusal_is_its_root_cause_in_one_line(flink, jar, capsys):
    flink.run_failure = RUN_FAILURE
    assert 50 <= len(RUN_FAILURE.splitlines()) <= 80
    code, out, err = cli(capsys, "--url", flink.url, "run", str(jar))
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith("flink-swarm: Flink refused POST /jars/") and "/run (HTTP 400): " in line
    assert line.endswith("Could not execute application. Root cause: IllegalArgumentException: --input is "
                         "required (--verbose: the full text)")
    assert "\tat " not in err and "ProgramInvocationException" not in err


def test_verbose_prints_flinks_whole_trace(flink, jar, capsys):
    flink.run_failure = RUN_FAILURE
    code, _, err = cli(capsys, "--url", flink.url, "run", str(jar), "--verbose")  # after the jar: the program's
    assert code == 1 and len(err.splitlines()) == 1
    assert json_body(calls(flink, "POST", r"/jars/[^/]+/run")[0]) == {"programArgsList": ["--verbose"]}
    code, _, err = cli(capsys, "--url", flink.url, "run", "-v", str(jar))
    assert code == 1
    first, *rest = err.splitlines()
    assert first.endswith("Root cause: IllegalArgumentException: --input is required")
    assert "\n".join(rest) == RUN_FAILURE


def test_an_error_as_json(flink, capsys):
    jid = uuid.uuid4().hex
    code, out, err = cli(capsys, "--url", flink.url, "--output", "json", "cancel", jid)
    assert code == 1
    answer = json.loads(out)
    assert answer["error"] == f"Flink refused PATCH /jobs/{jid}?mode=cancel (HTTP 404): Job {jid} not found"
    assert answer["exit_code"] == 1 and "AbstractHandler.respondAsLeader" in answer["trace"]
    assert err.startswith("flink-swarm: Flink refused PATCH")


def test_a_failed_savepoint_is_its_root_cause(flink, capsys):
    jid = flink.add_job("streaming")
    trace = java_trace("org.apache.flink.runtime.checkpoint.CheckpointException: Task has failed.",
                       "org.apache.flink.runtime.checkpoint.CheckpointException: Task local checkpoint failure.",
                       "java.io.IOException: No space left on device")
    flink.savepoint_failure = {"class": "org.apache.flink.runtime.checkpoint.CheckpointException",
                               "stack-trace": trace, "serialized-throwable": "rO0ABXNy"}
    code, _, err = cli(capsys, "--url", flink.url, "savepoint", jid)
    assert code == 1
    assert err == f"flink-swarm: the savepoint of job {jid} failed: IOException: No space left on device " \
                  "(--verbose: the full text)\n"


def serve(status: int, content_type: str, body: bytes) -> ThreadingHTTPServer:
    """A web server that is not Flink (a proxy, say): it answers everything with this."""

    class Answer(BaseHTTPRequestHandler):
        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def proxy():
    server = serve(502, "text/html", b"<html><head><title>502 Bad Gateway</title></head>\r\n"
                                     b"<body><center>nginx</center></body></html>\r\n")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_error_that_is_not_flinks_says_what_answered(proxy, jar, capsys):
    code, _, err = cli(capsys, "--url", proxy, "run", str(jar))
    assert code == 1
    assert "Flink refused" not in err
    assert err.splitlines()[0] == (
        f"flink-swarm: POST /jars/upload: {proxy} answered HTTP 502 Bad Gateway (text/html), which is not an "
        "error of Flink's REST API (a proxy, or not Flink at this address?): "
        "<html><head><title>502 Bad Gateway</title></head> (--verbose: the full text)")


def test_a_json_error_that_is_not_flinks_is_not_called_flinks_either(capsys):
    server = serve(503, "application/json", b'{"message": "no healthy upstream"}')
    try:
        code, _, err = cli(capsys, "--url", f"http://127.0.0.1:{server.server_address[1]}", "list")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert "Flink refused" not in err
    assert "HTTP 503" in err and "(application/json)" in err and '{"message": "no healthy upstream"}' in err


# --parallelism against the cluster's task slots ---------------------------------------------------------


def test_a_parallelism_above_the_task_slots_is_refused_before_the_upload(flink, jar, capsys):
    flink.slots_total = 4
    code, out, err = cli(capsys, "--url", flink.url, "run", "-p", "6", str(jar))
    assert (code, out) == (1, "")
    assert err == ("flink-swarm: --parallelism 6 is more than the cluster's 4 task slots (GET /overview: "
                   "slots-total), so the job would wait for slots and restart for ever: give --parallelism 4 or "
                   "less, or add task slots (flink-swarm:flink.taskSlots per taskmanager, or more workers in the "
                   "topology)\n")
    assert [(c["method"], c["path"]) for c in flink.calls] == [("GET", "/overview")]  # no upload reached Flink
    assert not flink.jars and not flink.jobs


def test_no_task_slots_at_all(flink, jar, capsys):
    flink.slots_total = 0
    code, _, err = cli(capsys, "--url", flink.url, "run", "-p", "1", str(jar))
    assert code == 1
    assert "the cluster has no task slots" in err and "wait for its taskmanagers" in err
    assert not calls(flink, "POST", "/jars/upload")


def test_a_parallelism_within_the_task_slots_is_checked_then_run(flink, jar, capsys):
    flink.slots_total = 4
    code, _, err = cli(capsys, "--url", flink.url, "run", "-p", "4", str(jar))
    assert code == 0, err
    assert [c["path"] for c in flink.calls][:2] == ["/overview", "/jars/upload"]
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run)["parallelism"] == 4


def test_without_parallelism_the_slots_are_not_asked(flink, jar, capsys):
    assert cli(capsys, "--url", flink.url, "run", str(jar))[0] == 0
    assert not calls(flink, "GET", "/overview")


# the stack: --stack and --cwd go to pulumi; Python jobs over SSH ---------------------------------------


def stack_env(stack, monkeypatch, node=None, **outputs) -> None:
    """The fake pulumi, ssh and docker on PATH (in-process), with these outputs changed; the fake ssh's
    tunnels lead to the fake Flink `node` (standing for the jobmanager node's 127.0.0.1:8081)."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAKE_OUTPUTS", json.dumps({**json.loads(stack.env["FAKE_OUTPUTS"]), **outputs}))
    if node is not None:
        monkeypatch.setenv("FAKE_NODE_REST", node_rest(node))


def test_stack_and_cwd_go_to_pulumi(flink, stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch, node=flink)
    project = tmp_path / "my project"
    jid = flink.add_job("from the stack")
    code, out, err = cli(capsys, "--stack", "dev", "--cwd", str(project), "list")
    assert code == 0, err
    assert out.split()[0] == jid
    assert stack.calls()[0] == ["pulumi", "stack", "output", "--json", "--stack", "dev", "--cwd", str(project)]
    assert [c[0] for c in stack.calls()] == ["pulumi", "ssh"]  # then the tunnel


def test_the_selected_stack_in_this_folder_by_default(flink, stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch, node=flink)
    assert cli(capsys, "list")[0] == 0
    assert stack.calls()[0] == ["pulumi", "stack", "output", "--json"]


def test_pulumi_failing_is_said(stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    (tmp_path / "pulumi").write_text("#!/bin/sh\necho 'error: no Pulumi.yaml project file found' >&2\nexit 255\n")
    (tmp_path / "pulumi").chmod(0o755)
    code, _, err = cli(capsys, "--cwd", "/nowhere", "list")
    assert code == 1
    assert err == "flink-swarm: `pulumi stack output --json --cwd /nowhere` failed: error: no Pulumi.yaml " \
                  "project file found\n"


def python_job(tmp_path: Path) -> Path:
    job = tmp_path / "job.py"
    job.write_text("print('a PyFlink job')\n")
    return job


def test_run_python_with_parallelism_and_the_programs_arguments(flink, stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch, node=flink)
    code, out, err = cli(capsys, "run", "-p", "2", "-py", str(python_job(tmp_path)), "-p", "7", "--", "x")
    assert code == 0, err
    jid = "0123456789abcdef0123456789abcdef"
    assert out.splitlines() == [f"job {jid}", f"http://127.0.0.1:8081/#/job/running/{jid}/overview"]
    docker = [c for c in stack.calls() if c[0] == "docker"]
    assert docker[-1][1:] == ["exec", "c0ffee", "flink", "run", "-d", "-p", "2", "-py", "/tmp/job.py", "-p", "7",
                              "--", "x"]
    assert [c["path"] for c in flink.calls] == ["/overview"]


def test_run_python_above_the_task_slots_is_refused_before_ssh(flink, stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch, node=flink)
    flink.slots_total = 2
    code, _, err = cli(capsys, "run", "--parallelism", "3", "--python", str(python_job(tmp_path)))
    assert code == 1
    assert "--parallelism 3 is more than the cluster's 2 task slots" in err
    assert [c[0] for c in stack.calls()] == ["pulumi", "ssh"]  # the tunnel only: the job was not copied
    assert "-N" in stack.calls()[1]


def test_run_python_needs_the_stack_even_with_url(flink, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = cli(capsys, "--url", flink.url, "run", "--python", str(python_job(tmp_path)))
    assert code == 1
    assert err.startswith("flink-swarm: run --python copies the job to the jobmanager's node over SSH, so it needs "
                          "the stack's outputs (`--url` is not enough): the Pulumi CLI is not on PATH")
    assert not flink.calls


def test_run_python_failing_in_flink_is_its_root_cause(stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch)
    bin_dir = Path(stack.env["PATH"].split(":")[0])
    trace = java_trace("org.apache.flink.client.program.ProgramAbortException: java.lang.RuntimeException: "
                       "Python process exits with code: 1", "java.lang.RuntimeException: Python process exits "
                       "with code: 1")
    (bin_dir / "docker").write_text(f"#!/bin/sh\n[ \"$1\" = ps ] && echo c0ffee\n[ \"$1\" = exec ] && "
                                    f"{{ cat <<'EOF' >&2\n{trace}\nEOF\nexit 1; }}\ncat >/dev/null\nexit 0\n")
    code, _, err = cli(capsys, "run", "--python", str(python_job(tmp_path)))
    assert code == 1
    assert err == f"flink-swarm: flink run -py on {JM} failed: RuntimeException: Python process exits with " \
                  "code: 1 (--verbose: the full text)\n"


# SSH: the argv builder, the tunnel to Flink's REST API, `ui` --------------------------------------------


def target(host="203.0.113.7", port=2222, user="flink", node=JM):
    from flink_swarm_cli.stack import SshTarget
    return SshTarget(node, host, port, user)


def test_ssh_argv_is_a_list_with_the_stacks_files_and_the_host_after_double_dash(tmp_path):
    from flink_swarm_cli.stack import Identity
    from flink_swarm_cli.tunnel import ssh_argv
    files = tmp_path / "keys" / "flink-swarm-dev"
    argv = ssh_argv(target(), Identity(files, files.with_name("flink-swarm-dev.known_hosts")), command="uptime")
    assert argv == ["ssh", "-o", f"IdentityFile={files}", "-o", "IdentitiesOnly=yes",
                    "-o", f"UserKnownHostsFile={files}.known_hosts", "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR",
                    "-p", "2222", "-l", "flink", "--", "203.0.113.7", "uptime"]
    agent = ssh_argv(target(), Identity(None, files.with_name("flink-swarm-dev.known_hosts")))
    assert "IdentitiesOnly=yes" not in agent and agent[-2:] == ["--", "203.0.113.7"]  # the agent's keys


@pytest.mark.parametrize("folder", ["keys with spaces", "it's \"quoted\"", "100%", "plain"])
def test_ssh_reads_the_file_names_as_they_are(tmp_path, folder):
    """Real ssh parses the argv (`ssh -G`, no connection): file names with spaces, quotes or % arrive
    whole, or are refused with a reason (ssh cannot take a double quote in an -o value)."""
    from flink_swarm_cli.errors import Refused
    from flink_swarm_cli.stack import Identity
    from flink_swarm_cli.tunnel import ssh_argv
    if not shutil.which("ssh"):
        pytest.fail("ssh is not installed: apt-get install openssh-client")
    key = tmp_path / folder / "flink-swarm-dev"
    key.parent.mkdir()
    key.write_text("")
    identity = Identity(key, key.with_name("flink-swarm-dev.known_hosts"))
    if '"' in folder:
        with pytest.raises(Refused, match="ssh cannot take the file name"):
            ssh_argv(target(), identity)
        return
    argv = ssh_argv(target(host="node.example", user="jane.doe"), identity)
    done = subprocess.run(["ssh", "-G", *argv[1:]], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    config = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert config["userknownhostsfile"] == f"{identity.known_hosts}"
    assert (config["hostname"], config["port"], config["user"]) == ("node.example", "2222", "jane.doe")
    assert config["identitiesonly"] == "yes" and config["stricthostkeychecking"] == "true"


def test_no_stack_output_reaches_a_shell(flink, stack, monkeypatch, capsys, tmp_path):
    """Outputs are data: a host or user that a shell would run stays one argument of ssh."""
    marker = tmp_path / "ran"
    hostile = {"host": f"$(touch${{IFS}}{marker})", "port": 2222, "user": f"`touch${{IFS}}{marker}`;x"}
    stack_env(stack, monkeypatch, node=flink, ssh={JM: hostile})
    code, _, err = cli(capsys, "run", "--python", str(python_job(tmp_path)), "a b", "it's")
    assert code == 0, err
    ssh = [c for c in stack.calls() if c[0] == "ssh"]
    assert [c[c.index("--") + 1] for c in ssh] == [hostile["host"]]
    assert ssh[0][ssh[0].index("-l") + 1] == hostile["user"]
    assert hostile["host"] not in ssh[0][-1] and hostile["user"] not in ssh[0][-1]  # not in the remote command
    assert not marker.exists()


def test_a_stack_output_that_is_not_data_is_refused(stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch, ssh={JM: {"host": "203.0.113.7 -oProxyCommand=x", "port": 22, "user": "u"}})
    code, _, err = cli(capsys, "list")
    assert code == 1 and "the stack's output `ssh` is not as this CLI reads it" in err
    assert [c[0] for c in stack.calls()] == ["pulumi"]


def test_an_older_stack_without_the_outputs_says_to_update_it(stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch)
    monkeypatch.setenv("FAKE_OUTPUTS", json.dumps({"flinkUiUrl": "http://203.0.113.7:8081"}))
    code, _, err = cli(capsys, "list")
    assert code == 1
    assert "the stack's output `flinkRest` has none: is the stack deployed with this version of the program " \
           "(`pulumi up`)? (or give the cluster with --url)" in err


def test_a_local_stack_is_reached_directly(flink, stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch, flinkRest={"node": "local-jobmanager", "port": 8081, "url": flink.url})
    jid = flink.add_job("local")
    code, out, err = cli(capsys, "--output", "json", "list")
    assert code == 0, err
    assert json.loads(out)["jobs"][0]["url"] == link(flink, jid)
    assert [c[0] for c in stack.calls()] == ["pulumi"]  # no ssh


def test_the_tunnel_waits_until_ssh_listens_and_closes_when_the_command_ends(flink, stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch, node=flink)
    monkeypatch.setenv("FAKE_SSH_DELAY", "1.5")  # ssh's dial takes a while
    jid = flink.add_job("streaming")
    code, out, err = cli(capsys, "--output", "json", "describe", jid)
    assert code == 0, err
    assert json.loads(out)["url"] == f"http://127.0.0.1:8081/#/job/running/{jid}/overview"  # where `ui` serves it
    [ssh] = [c for c in stack.calls() if c[0] == "ssh"]
    port = int(ssh[ssh.index("-L") + 1].split(":")[1])
    assert ssh[:len(ssh_options(stack.home)) + 1] == ["ssh", *ssh_options(stack.home)]
    assert ssh[-8:] == ["-L", f"127.0.0.1:{port}:127.0.0.1:8081", "-p", "2222", "-l", "flink", "--", "203.0.113.7"]
    from flink_swarm_cli.tunnel import listening
    assert not listening(port)  # ssh was ended with the command


def test_a_failed_tunnel_says_what_ssh_said(stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch)
    monkeypatch.setenv("FAKE_SSH_FAIL", "1")
    code, _, err = cli(capsys, "list")
    assert code == 1
    assert err == (f"flink-swarm: the SSH tunnel to {JM} (flink@203.0.113.7 port 2222, to its 127.0.0.1:8081) "
                   "failed (ssh exit code 1): flink@203.0.113.7: Permission denied (publickey).\n")


def test_a_tunnel_that_never_listens_times_out(stack, monkeypatch, capsys):
    from flink_swarm_cli import tunnel
    stack_env(stack, monkeypatch)
    monkeypatch.setenv("FAKE_SSH_HANG", "1")
    monkeypatch.setattr(tunnel, "TIMEOUT", 1.0)
    started = time.monotonic()
    code, _, err = cli(capsys, "list")
    assert code == 124 and time.monotonic() - started < 10
    assert f"the SSH tunnel to {JM} (flink@203.0.113.7 port 2222, to its 127.0.0.1:8081) did not listen" in err


def test_without_ssh_on_path(stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch)
    (Path(stack.env["PATH"].split(":")[0]) / "ssh").unlink()
    monkeypatch.setenv("PATH", stack.env["PATH"].split(":")[0])
    code, _, err = cli(capsys, "list")
    assert code == 1 and "ssh is not on PATH: install an OpenSSH client" in err


def test_the_ssh_agent_mode_passes_no_key_file(flink, stack, monkeypatch, capsys, tmp_path):
    stack_env(stack, monkeypatch, node=flink, sshIdentity={"stack": "dev", "agent": True})
    monkeypatch.setenv("FLINK_SWARM_KEY_DIR", str(tmp_path / "my keys"))
    assert cli(capsys, "list")[0] == 0
    [ssh] = [c for c in stack.calls() if c[0] == "ssh"]
    assert ssh[1:3] == ["-o", f'UserKnownHostsFile="{tmp_path}/my keys/flink-swarm-dev.known_hosts"']
    assert not [word for word in ssh if "IdentityFile" in word or "IdentitiesOnly" in word]


def ui(stack, flink, *args: str) -> subprocess.Popen:
    env = {**stack.env, "FAKE_NODE_REST": node_rest(flink)}
    return subprocess.Popen([str(console_command()), "ui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=as_from_a_terminal)


def test_ui_keeps_the_tunnel_open_until_ctrl_c(flink, stack):
    proc = ui(stack, flink, "--port", "0")
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        with urllib.request.urlopen(f"{url}/overview", timeout=10) as answer:  # Flink, through the tunnel
            assert json.load(answer)["slots-total"] == flink.slots_total
        assert proc.poll() is None  # still open
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
    from flink_swarm_cli.tunnel import listening
    assert not listening(int(url.rsplit(":", 1)[1]))
    assert "through SSH; Ctrl-C closes the tunnel" in proc.stderr.read()


def test_ui_takes_8081_or_another_free_port(flink, stack):
    from flink_swarm_cli.tunnel import free_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert free_port(busy) != busy
    assert free_port(busy) == busy  # free again


def test_ui_of_a_local_stack_only_prints_its_url(flink, stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch, flinkRest={"node": "local-jobmanager", "port": 8081, "url": "http://127.0.0.1:18081"})
    code, out, err = cli(capsys, "--output", "json", "ui")
    assert code == 0, err
    assert json.loads(out) == {"url": "http://127.0.0.1:18081", "tunnel": False, "node": None}


def test_ui_says_when_the_tunnel_fails(stack, monkeypatch, capsys):
    stack_env(stack, monkeypatch)
    monkeypatch.setenv("FAKE_SSH_FAIL", "1")
    code, out, err = cli(capsys, "ui")
    assert code == 1 and out == "" and "Permission denied (publickey)." in err


# the package, installed: the console command ------------------------------------------------------------


def console_command() -> Path:
    return Path(sysconfig.get_path("scripts")) / "flink-swarm"


def test_the_console_command_is_installed_from_this_tree():
    """requirements-dev.txt installs ./tools (editable): `flink-swarm` on PATH runs this tree's package."""
    command = console_command()
    assert command.is_file(), f"{command}: run pip install -r requirements-dev.txt"
    found = subprocess.run([sys.executable, "-c", "import flink_swarm_cli; print(flink_swarm_cli.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/")
    assert Path(found.stdout.strip()).resolve() == TOOLS / "flink_swarm_cli" / "__init__.py"


def test_the_console_command_runs_from_any_directory(flink, jar, tmp_path):
    done = subprocess.run([str(console_command()), "--url", flink.url, "--output", "json", "run", str(jar), "--in",
                           "x"], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    [jid] = flink.jobs
    assert json.loads(done.stdout) == {"job_id": jid, "url": link(flink, jid)}
    [run] = calls(flink, "POST", r"/jars/[^/]+/run")
    assert json_body(run) == {"programArgsList": ["--in", "x"]}
    assert flink.jars.popitem()[1] == JAR_BYTES


def test_the_console_commands_help_and_usage_error(tmp_path):
    done = subprocess.run([str(console_command()), "--help"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: flink-swarm ")
    for command in ("run", "list", "describe", "wait", "cancel", "savepoint", "stop", "ui"):
        assert f"flink-swarm [GLOBAL OPTIONS] {command}" in done.stdout
    wrong = subprocess.run([str(console_command()), "wait"], capture_output=True, text=True, timeout=60, check=False)
    assert wrong.returncode == 2 and "the following arguments are required: job_id" in wrong.stderr


def test_python_dash_m_is_the_same_command(flink):
    jid = flink.add_job("streaming")
    done = subprocess.run([sys.executable, "-m", "flink_swarm_cli", "--url", flink.url, "list"],
                          capture_output=True, text=True, timeout=60, check=False, cwd=TOOLS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == jid


# the one line of an error text --------------------------------------------------------------------------


@pytest.mark.parametrize("errors, line", [
    (["Not found: /jobs/x/nope"], "Not found: /jobs/x/nope"),  # the router's: no trace at all
    (["Internal server error.", "<Exception on server side:\norg.apache.flink.runtime.messages."
      "FlinkJobNotFoundException: Could not find Flink job (1a)\n\tat org.apache.flink.X.y(X.java:1)\n"
      "End of exception on server side>"],
     "Internal server error. Root cause: FlinkJobNotFoundException: Could not find Flink job (1a)"),
    ([java_trace("org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be found.",
                 "org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (1a)")],
     "Job could not be found. Root cause: FlinkJobNotFoundException: Could not find Flink job (1a)"),
    (["org.apache.flink.runtime.rest.handler.RestHandlerException: Only Jar files are allowed.\n\tat a.B.c(B.java:1)"],
     "Only Jar files are allowed."),
    ([java_trace("org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.",
                 "org.apache.flink.util.FlinkRuntimeException: Could not execute application.")],
     "Could not execute application."),  # the same message again is no root cause worth a second mention
])
def test_the_one_line_of_flinks_error_texts(errors, line):
    from flink_swarm_cli.errors import summary
    assert summary("\n".join(errors)) == line


def test_the_shim_finds_the_package_beside_it_installed_or_not(flink, tmp_path):
    """tools/flink from another folder, with no site-packages (-S: not even the editable install)."""
    jid = flink.add_job("streaming")
    done = subprocess.run([sys.executable, "-S", str(TOOLS / "flink"), "--url", flink.url, "list"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == jid
