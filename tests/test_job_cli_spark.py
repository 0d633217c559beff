"""`flink-swarm spark submit|list|kill|ui` (tools/flink_swarm_cli/spark.py, spark_submit.py): the command
line's split, the exact remote commands `submit` runs (a fake `ssh` runs each with a real `sh`, a fake
`sudo` and `docker` stand for the node's, a folder for the container's /), and `list`/`kill` against a
fake master UI that answers /json/ and /app/kill/ as Spark 3.5's MasterWebUI does."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness import as_from_a_terminal
from tests.test_flink_tool import JM, executable, ssh_options
from tests.test_job_cli_logs import FAKE_SUDO
from tests.test_job_cli_sql import OUTPUTS, stack  # noqa: F401 (a fixture)

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

from flink_swarm_cli import main, spark  # noqa: E402
from flink_swarm_cli.main import parse, split_program_args  # noqa: E402

CONTAINER = "5a2c0ffee123"
APP_ID = "app-20260312101500-0003"
KEEPALIVE = ["-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
PS = ("sudo -n docker ps -q --filter label=com.docker.swarm.service.name=spark-master --filter status=running")


def cli(capfd, *argv: str) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr), the fakes' output included."""
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


# the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words, program", [
    (["spark", "submit", "--class", "C", "--conf", "a=b", "app.jar", "--class", "x", "--conf", "y"],
     ["spark", "submit", "--class", "C", "--conf", "a=b", "app.jar"], ["--class", "x", "--conf", "y"]),
    (["--stack", "dev", "spark", "submit", "wc.py", "in.txt", "--", "x"],
     ["--stack", "dev", "spark", "submit", "wc.py"], ["in.txt", "--", "x"]),
    (["spark", "submit", "app.py", "--", "--name"], ["spark", "submit", "app.py"], ["--name"]),
    (["spark", "submit", "--", "-odd.py", "a"], ["spark", "submit", "--", "-odd.py"], ["a"]),
    (["spark", "submit", "--output=json", "--executor-memory", "2g", "--total-executor-cores=4", "app.jar", "-v"],
     ["spark", "submit", "--output=json", "--executor-memory", "2g", "--total-executor-cores=4", "app.jar"], ["-v"]),
    (["--stack", "spark", "spark", "submit", "a.py", "b"], ["--stack", "spark", "spark", "submit", "a.py"], ["b"]),
    (["spark", "list", "--output", "json"], ["spark", "list", "--output", "json"], []),
    (["spark", "kill", "app-1"], ["spark", "kill", "app-1"], []),
])
def test_options_before_the_application_everything_after_it_is_the_programs(argv, words, program):
    assert split_program_args(argv) == (words, program)


@pytest.mark.parametrize("argv, message", [
    (["spark", "submit"], "the following arguments are required: APP.jar|APP.py"),
    (["spark", "submit", "--conf", "nokey", "a.py"], "argument --conf: 'nokey' is not KEY=VALUE"),
    (["spark", "submit", "--conf", "=v", "a.py"], "argument --conf: '=v' is not KEY=VALUE"),
    (["spark", "submit", "--executor-memory", "lots", "a.py"], "argument --executor-memory: 'lots' is not a memory "
                                                                "size: give 512m, 2g, ..."),
    (["spark", "submit", "--total-executor-cores", "0", "a.py"], "'0' is not a number of cores: give 1 or more"),
    (["spark"], "the following arguments are required: COMMAND"),
    (["spark", "kill"], "the following arguments are required: app_id"),
])
def test_usage(capfd, argv, message):
    with pytest.raises(SystemExit) as done:
        parse(argv, "flink-swarm")
    assert done.value.code == 2
    assert message in capfd.readouterr().err


# submit: the remote commands, over a fake node ----------------------------------------------------------

FAKE_DOCKER = """import io, json, os, shutil, signal, sys, tarfile, time
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker", *args]) + "\\n")
root = os.environ["FAKE_CONTAINER_ROOT"]  # stands for the container's /


def inside(path):
    assert path.startswith("/tmp/"), path
    return os.path.join(root, path.lstrip("/"))


if args[0] == "ps":
    print(os.environ.get("FAKE_CONTAINERS", "5a2c0ffee123"))
elif args[0] == "cp":
    assert args[1:3] == ["--", "-"] and args[3] == "5a2c0ffee123:/tmp", args
    tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read())).extractall(os.path.join(root, "tmp"), filter="data")
else:
    assert args[0] == "exec", args
    user, rest = (args[2], args[3:]) if args[1] == "-u" else (None, args[1:])
    container, command = rest[0], rest[1:]
    assert container == "5a2c0ffee123", args
    if command == ["hostname", "-i"]:
        print(os.environ.get("FAKE_ADDRESSES", "10.0.1.7 172.18.0.4"))
    elif command[0] == "rm":
        assert user == "root" and command[1:3] == ["-rf", "--"], args
        shutil.rmtree(inside(command[3]))
    elif command[0] == "pkill":
        assert command[1:3] == ["-f", "--"] and command[3].endswith("/"), args
        pid = int(open(os.environ["FAKE_DRIVER_PID"]).read())
        os.kill(pid, signal.SIGTERM)
    else:
        assert command[0] == "/opt/spark/bin/spark-submit", args
        with open(os.environ["FAKE_DRIVER_PID"], "w") as pid:
            pid.write(str(os.getpid()))
        app = next(word for word in command if word.startswith("/tmp/flink-swarm-spark-"))
        program = command[command.index(app) + 1:]
        print("25/03/12 10:15:00 INFO SparkContext: Running Spark version 3.5.6", file=sys.stderr, flush=True)
        print("25/03/12 10:15:01 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID "
              "app-20260312101500-0003", file=sys.stderr, flush=True)
        print(f"read {open(inside(app)).read().strip()}", flush=True)  # the program's own output
        print(json.dumps(program), flush=True)
        if os.environ.get("FAKE_DRIVER_SLEEP"):
            for _ in range(600):
                time.sleep(0.1)
        sys.exit(int(os.environ.get("FAKE_SUBMIT_CODE", "0")))
"""


@pytest.fixture
def node(stack, tmp_path, monkeypatch):  # noqa: F811 (the fixture imported above)
    """The stack with a fake sudo and docker on its node; `tmp` is the container's /tmp."""
    executable(stack.bin / "sudo", FAKE_SUDO)
    executable(stack.bin / "docker", FAKE_DOCKER)
    root = tmp_path / "container"
    (root / "tmp").mkdir(parents=True)
    monkeypatch.setenv("FAKE_CONTAINER_ROOT", str(root))
    monkeypatch.setenv("FAKE_DRIVER_PID", str(tmp_path / "driver.pid"))
    stack.tmp = root / "tmp"
    return stack


def jm_ssh(home: Path) -> list[str]:
    where = OUTPUTS["ssh"][JM]
    return ["ssh", *ssh_options(home), *KEEPALIVE, "-p", str(where["port"]), "-l", where["user"], "--", where["host"]]


def app(tmp_path: Path, name: str = "word count.jar", text: str = "a jar") -> Path:
    path = tmp_path / "apps" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def remote_commands(calls: list[list[str]]) -> list[str]:
    return [c[-1] for c in calls if c[0] == "ssh"]


def test_submit_runs_the_driver_in_the_masters_container(node, capfd, tmp_path):
    jar = app(tmp_path)
    code, out, err = cli(capfd, "--stack", "dev", "spark", "submit", "--class", "org.example.WordCount", "--name",
                         "word count", "--conf", "spark.executor.cores=1", "--conf", "spark.x=a b",
                         "--executor-memory", "1g", "--total-executor-cores", "2", str(jar), "/data/in", "--out", "x")
    assert code == 0, err
    assert out.splitlines() == ["read a jar", '["/data/in", "--out", "x"]']  # the program's output, on stdout
    assert err.splitlines() == [
        "25/03/12 10:15:00 INFO SparkContext: Running Spark version 3.5.6",
        f"25/03/12 10:15:01 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID {APP_ID}",
        f"application {APP_ID}", f"http://127.0.0.1:8080/app/?appId={APP_ID}"]  # where `spark ui` serves it
    calls = node.calls()
    assert calls[0] == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    assert {tuple(c[:-1]) for c in calls if c[0] == "ssh"} == {tuple(jm_ssh(node.home))}
    [folder] = {re.search(r"/tmp/flink-swarm-spark-[0-9a-f]{12}", c)[0] for c in remote_commands(calls)[2:]}
    assert remote_commands(calls) == [
        PS,
        f"sudo -n docker cp -- - {CONTAINER}:/tmp && sudo -n docker exec {CONTAINER} hostname -i",
        f"sudo -n docker exec {CONTAINER} /opt/spark/bin/spark-submit --master spark://spark-master:7077 "
        "--deploy-mode client --conf spark.driver.host=10.0.1.7 --conf spark.driver.bindAddress=0.0.0.0 "
        "--class org.example.WordCount --name 'word count' --conf spark.executor.cores=1 --conf 'spark.x=a b' "
        f"--executor-memory 1g --total-executor-cores 2 {folder}/word_count.jar /data/in --out x",
        f"sudo -n docker exec -u root {CONTAINER} rm -rf -- {folder}"]
    assert not list(node.tmp.iterdir())  # the copy is gone


def test_hostile_names_and_arguments_stay_words(node, capfd, tmp_path):
    marker = tmp_path / "ran"
    job = app(tmp_path, f"it's $(touch {marker.name}); `x`.py", "print('hi')")
    hostile = ["it's", f"$(touch {marker})", "a b", "; touch " + str(marker), "*", "--conf", "\\n"]
    code, out, err = cli(capfd, "spark", "submit", "--name", f"$(touch {marker})", "--conf", "k=v'; touch x",
                         str(job), *hostile)
    assert code == 0, err
    assert json.loads(out.splitlines()[1]) == hostile  # as given, through ssh's shell and docker exec
    submit = [c for c in node.calls() if c[0] == "docker" and "/opt/spark/bin/spark-submit" in c][0]
    i = submit.index("--name")
    assert submit[i:i + 4] == ["--name", f"$(touch {marker})", "--conf", "k=v'; touch x"]
    assert re.fullmatch(r"/tmp/flink-swarm-spark-[0-9a-f]{12}/it_s___touch_ran____x_\.py", submit[i + 4])
    assert not marker.exists() and not (Path.cwd() / "x").exists()


def test_submit_passes_spark_submits_exit_code_on(node, capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_SUBMIT_CODE", "3")
    code, _, err = cli(capfd, "spark", "submit", str(app(tmp_path)))
    assert code == 3
    assert err.splitlines()[-2:] == [f"application {APP_ID}", f"http://127.0.0.1:8080/app/?appId={APP_ID}"]
    assert not list(node.tmp.iterdir())


def test_submit_json_keeps_stdout_for_the_json(node, capfd, tmp_path):
    code, out, err = cli(capfd, "--output", "json", "spark", "submit", str(app(tmp_path)), "x")
    assert code == 0, err
    assert json.loads(out) == {"app_id": APP_ID, "url": f"http://127.0.0.1:8080/app/?appId={APP_ID}", "exit_code": 0}
    assert "read a jar" in err.splitlines()  # the driver's output, all of it on stderr


def test_a_local_stacks_application_link_is_its_ui_url(node, capfd, tmp_path):
    node.use(spark={**OUTPUTS["spark"], "url": "http://127.0.0.1:18080"})
    code, _, err = cli(capfd, "spark", "submit", str(app(tmp_path)))
    assert code == 0, err
    assert err.splitlines()[-1] == f"http://127.0.0.1:18080/app/?appId={APP_ID}"


@pytest.mark.parametrize("env, message", [
    ({"FAKE_CONTAINERS": ""}, f"no running spark-master container on {JM}: `flink-swarm logs spark-master` says why"),
    ({"FAKE_ADDRESSES": "hostname: Name or service not known"},
     f"`hostname -i` in the spark-master container on {JM} printed 'hostname: Name or service not known', not an "
     "address"),
])
def test_submit_says_why_it_cannot_run_the_driver(node, capfd, monkeypatch, tmp_path, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = cli(capfd, "spark", "submit", str(app(tmp_path)))
    assert (code, out, err) == (1, "", f"flink-swarm: {message}\n")
    assert not any("spark-submit" in c for c in remote_commands(node.calls()))
    assert not list(node.tmp.iterdir())  # a copy made is removed


def test_a_missing_application_is_refused_before_ssh(node, capfd, tmp_path):
    code, _, err = cli(capfd, "spark", "submit", str(tmp_path / "nope.py"))
    assert (code, err) == (1, f"flink-swarm: no such application file: {tmp_path / 'nope.py'}\n")
    assert [c[0] for c in node.calls()] == ["pulumi"]


def test_ctrl_c_ends_the_driver_and_removes_the_copy(node, tmp_path):
    command = Path(sysconfig.get_path("scripts")) / "flink-swarm"
    env = {**os.environ, "FAKE_DRIVER_SLEEP": "1"}
    proc = subprocess.Popen([str(command), "spark", "submit", str(app(tmp_path))], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    try:
        assert proc.stdout.readline() == "read a jar\n", proc.stderr.read()  # the driver runs
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        proc.kill()
        proc.stdout.close()
    assert proc.stderr.read().splitlines()[-1] == "flink-swarm: interrupted"
    *_, cleanup = remote_commands(node.calls())
    folder = re.search(r"/tmp/flink-swarm-spark-[0-9a-f]{12}", cleanup)[0]
    assert cleanup == (f"sudo -n docker exec {CONTAINER} pkill -f -- {folder}/; "
                       f"sudo -n docker exec -u root {CONTAINER} rm -rf -- {folder}")
    assert not list(node.tmp.iterdir())
    pid = int((tmp_path / "driver.pid").read_text())
    for _ in range(50):  # the driver was ended (pkill), not left to run on
        if not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text():
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the fake driver {pid} still runs")


def test_submit_needs_the_stack_even_with_url(capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = cli(capfd, "--url", "http://127.0.0.1:8081", "spark", "submit", str(app(tmp_path)))
    assert code == 1
    assert err.startswith("flink-swarm: spark reaches Spark's master over SSH, so it needs the stack's outputs "
                          "(`--url` is not enough): the Pulumi CLI is not on PATH")


# list and kill: the master's web UI ---------------------------------------------------------------------


def spark_app(app_id: str, name: str, state: str, start: int) -> dict:
    """An application as JsonProtocol.writeApplicationInfo writes it."""
    return {"id": app_id, "starttime": start, "name": name, "cores": 4, "user": "spark", "memoryperexecutor": 1024,
            "memoryperslave": 1024, "resourcesperexecutor": [], "resourcesperslave": [],
            "submitdate": "Thu Mar 12 10:15:00 UTC 2026", "state": state, "duration": 61_000}


def spark_worker(worker_id: str, host: str, state: str = "ALIVE", cores: int = 4, memory: int = 7168) -> dict:
    """A worker as JsonProtocol.writeWorkerInfo writes it."""
    return {"id": worker_id, "host": host, "port": 35000, "webuiaddress": f"http://{host}:8081", "cores": cores,
            "coresused": 2, "coresfree": cores - 2, "memory": memory, "memoryused": 1024, "memoryfree": memory - 1024,
            "resources": {}, "resourcesused": {}, "resourcesfree": {}, "state": state, "lastheartbeat": 1_773_310_500_000}


class FakeMaster(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MasterHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.apps = [spark_app("app-20260312090000-0001", "pi", "FINISHED", 1_773_306_000_000),
                     spark_app(APP_ID, "word count", "RUNNING", 1_773_310_500_000),
                     spark_app("app-20260312100000-0002", "etl", "KILLED", 1_773_309_600_000)]
        self.workers = [spark_worker("worker-20260312085900-10.0.1.9-35000", "10.0.1.9"),
                        spark_worker("worker-20260312085901-10.0.1.10-35000", "10.0.1.10"),
                        spark_worker("worker-20260311085901-10.0.1.11-35000", "10.0.1.11", state="DEAD")]
        self.kill_enabled = True  # spark.ui.killEnabled: else MasterWebUI attaches no /app/kill handler
        self.kills_do_nothing = False  # the redirect, but no kill (ACLs that refuse it)
        self.calls: list[tuple[str, str, dict, str | None]] = []

    def state(self) -> dict:
        """JsonProtocol.writeMasterState."""
        alive = [w for w in self.workers if w["state"] == "ALIVE"]
        active = [a for a in self.apps if a["state"] in ("WAITING", "RUNNING")]
        return {"url": "spark://spark-master:7077", "workers": self.workers, "aliveworkers": len(alive),
                "cores": sum(w["cores"] for w in alive), "coresused": sum(w["coresused"] for w in alive),
                "memory": sum(w["memory"] for w in alive), "memoryused": sum(w["memoryused"] for w in alive),
                "resources": [], "resourcesused": [], "activeapps": active,
                "completedapps": [a for a in self.apps if a not in active], "activedrivers": [],
                "completeddrivers": [], "status": "ALIVE"}


class MasterHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status: int, body: bytes, content_type: str, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server: FakeMaster = self.server
        server.calls.append(("GET", self.path, {}, None))
        if self.path == "/json/":
            self.send(200, json.dumps(server.state()).encode(), "application/json;charset=utf-8")
        else:
            self.send(200, b"<html>Spark Master at spark://spark-master:7077</html>", "text/html;charset=utf-8")

    def do_POST(self):
        server: FakeMaster = self.server
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        server.calls.append(("POST", self.path, form, self.headers.get("Content-Type")))
        if urlsplit(self.path).path != "/app/kill/" or not server.kill_enabled:
            self.send(404, b"<html>Error 404 Not Found</html>", "text/html")
            return
        if form.get("terminate") == ["true"] and not server.kills_do_nothing:  # MasterPage.handleKillRequest
            for found in server.apps:
                if [found["id"]] == form.get("id") and found["state"] in ("WAITING", "RUNNING"):
                    found["state"] = "KILLED"
        self.send(302, b"", "text/html", location=f"{server.url}/")  # createRedirectHandler: to /


@pytest.fixture
def master(stack):  # noqa: F811 (the fixture imported above)
    """A fake master UI, the stack's `spark` output a local stack's URL to it."""
    server = FakeMaster()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stack.use(spark={**OUTPUTS["spark"], "url": server.url})
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_list_apps_newest_first_and_the_workers(master, capfd):
    code, out, err = cli(capfd, "spark", "list")
    assert code == 0, err
    assert out.splitlines() == [f"{APP_ID}  RUNNING   word count", "app-20260312100000-0002  KILLED    etl",
                                "app-20260312090000-0001  FINISHED  pi", "workers: 2 alive (of 3), 8 cores, 14.0 GiB"]
    assert [c[:2] for c in master.calls] == [("GET", "/json/")]


def test_list_json(master, capfd):
    code, out, err = cli(capfd, "--output", "json", "spark", "list")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["apps"][0] == {"app_id": APP_ID, "name": "word count", "state": "RUNNING", "cores": 4,
                                 "memory_per_executor_mb": 1024, "start_time": 1_773_310_500_000, "duration_ms": 61_000,
                                 "url": f"{master.url}/app/?appId={APP_ID}"}
    assert [a["app_id"] for a in answer["apps"]] == [APP_ID, "app-20260312100000-0002", "app-20260312090000-0001"]
    assert answer["workers"][2] == {"id": "worker-20260311085901-10.0.1.11-35000", "host": "10.0.1.11",
                                    "state": "DEAD", "cores": 4, "cores_used": 2, "memory_mb": 7168,
                                    "memory_used_mb": 1024}


def test_list_with_no_applications(master, capfd):
    master.apps, master.workers = [], []
    assert cli(capfd, "spark", "list")[:2] == (0, "no applications\nworkers: 0 alive, 0 cores, 0 MiB\n")


def test_list_through_an_ssh_tunnel_to_the_masters_node(master, stack, capfd):  # noqa: F811
    stack.use()  # the stack's output: url null, port 8080 on the jobmanager's node
    stack.forward(8080, master)
    code, out, err = cli(capfd, "--output", "json", "spark", "list")
    assert code == 0, err
    [ssh] = [c for c in stack.calls() if c[0] == "ssh"]
    port = int(ssh[ssh.index("-L") + 1].split(":")[1])
    assert ssh[-8:] == ["-L", f"127.0.0.1:{port}:127.0.0.1:8080", "-p", "2222", "-l", "flink", "--", "203.0.113.7"]
    assert json.loads(out)["apps"][0]["url"] == f"http://127.0.0.1:8080/app/?appId={APP_ID}"  # where `spark ui` serves


def test_kill_posts_the_masters_form_and_waits_for_killed(master, capfd):
    code, out, err = cli(capfd, "spark", "kill", APP_ID)
    assert code == 0, err
    assert out.splitlines() == [f"killed application {APP_ID}: KILLED", f"{master.url}/app/?appId={APP_ID}"]
    assert master.calls[1] == ("POST", "/app/kill/", {"id": [APP_ID], "terminate": ["true"]},
                               "application/x-www-form-urlencoded")
    assert [c[:2] for c in master.calls] == [("GET", "/json/"), ("POST", "/app/kill/"), ("GET", "/json/")]  # not /


def test_kill_json(master, capfd):
    code, out, _ = cli(capfd, "--output", "json", "spark", "kill", APP_ID)
    assert code == 0
    assert json.loads(out) == {"app_id": APP_ID, "state": "KILLED", "killed": True,
                               "url": f"{master.url}/app/?appId={APP_ID}"}


def test_kill_refuses_an_application_the_master_does_not_have(master, capfd):
    code, out, err = cli(capfd, "spark", "kill", "app-20990101000000-0000")
    assert (code, out) == (1, "")
    assert err == ("flink-swarm: no application app-20990101000000-0000 on Spark's master (its applications: "
                   f"{APP_ID} (RUNNING), app-20260312100000-0002 (KILLED), app-20260312090000-0001 (FINISHED)): "
                   "`flink-swarm spark list` shows them\n")
    assert [c[0] for c in master.calls] == ["GET"]


def test_kill_an_application_that_has_ended(master, capfd):
    code, out, _ = cli(capfd, "spark", "kill", "app-20260312090000-0001")
    assert code == 0
    assert out.splitlines()[0] == "application app-20260312090000-0001 had already ended: FINISHED"
    assert [c[0] for c in master.calls] == ["GET"]


def test_a_kill_the_master_does_not_carry_out(master, capfd, monkeypatch):
    monkeypatch.setattr(spark, "KILL_WAIT", 0.3)
    monkeypatch.setattr(spark, "POLL_SECONDS", 0.05)
    master.kill_enabled = False
    code, _, err = cli(capfd, "spark", "kill", APP_ID)
    assert code == 1
    assert err == ("flink-swarm: POST /app/kill/: Spark's master at " + master.url + " answered HTTP 404 Not Found "
                   "(is spark.ui.killEnabled off on the master?)\n")


def test_a_kill_that_changes_nothing_is_said_after_a_while(master, capfd, monkeypatch):
    monkeypatch.setattr(spark, "KILL_WAIT", 0.3)
    monkeypatch.setattr(spark, "POLL_SECONDS", 0.05)
    master.kills_do_nothing = True
    code, _, err = cli(capfd, "spark", "kill", APP_ID)
    assert code == 1
    assert err == (f"flink-swarm: application {APP_ID} is still RUNNING 0.3 s after the kill request: is "
                   "spark.ui.killEnabled off on the master?\n")
    assert len([c for c in master.calls if c[0] == "GET"]) >= 3


def test_a_stack_without_spark_says_how_to_turn_it_on(stack, capfd):  # noqa: F811
    stack.use(spark=None)
    for command in (["list"], ["kill", APP_ID], ["submit", "app.py"], ["ui"]):
        code, out, err = cli(capfd, "spark", *command)
        assert (code, out) == (1, "")
        assert err == ("flink-swarm: the stack runs no Spark (its output `spark` is null): turn it on with `pulumi "
                       "config set --path flink-swarm:spark.enabled true` and `pulumi up`\n")
    assert {c[0] for c in stack.calls()} == {"pulumi"}


@pytest.mark.parametrize("value, found", [
    (None, "has none"),
    ({**OUTPUTS["spark"], "master": "spark://x:7077; reboot"}, "is not as this CLI reads it"),
    ({**OUTPUTS["spark"], "uiPort": "8080"}, "is not as this CLI reads it"),
])
def test_a_spark_output_it_cannot_read(stack, capfd, monkeypatch, value, found):  # noqa: F811
    outputs = {k: v for k, v in OUTPUTS.items() if k != "spark"}
    if value is not None:
        outputs["spark"] = value
    monkeypatch.setenv("FAKE_OUTPUTS", json.dumps(outputs))
    code, _, err = cli(capfd, "spark", "list")
    assert code == 1
    assert err.startswith(f"flink-swarm: the stack's output `spark` {found}")
    assert err.endswith("is the stack deployed with this version of the program (`pulumi up`)? (or run `pulumi up`)\n")


def test_not_sparks_master_behind_the_url(master, stack, capfd):  # noqa: F811
    stack.use(spark={**OUTPUTS["spark"], "url": f"{master.url}/elsewhere"})
    code, _, err = cli(capfd, "spark", "list")
    assert code == 1
    assert f"GET /json/: {master.url}/elsewhere is not Spark's master UI? It answered: '<html>" in err


def test_ui_of_a_local_stack_only_prints_its_url(master, capfd):
    code, out, err = cli(capfd, "--output", "json", "spark", "ui")
    assert code == 0, err
    assert json.loads(out) == {"url": master.url, "tunnel": False, "node": None}


def test_the_help_lists_sql_and_spark():
    command = Path(sysconfig.get_path("scripts")) / "flink-swarm"
    done = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    for line in ("flink-swarm [GLOBAL OPTIONS] sql FILE.sql [--max-rows N] [--timeout SECONDS] [--gateway-url URL]",
                 "flink-swarm [GLOBAL OPTIONS] spark submit [--class CLASS] [--name NAME] [--conf KEY=VALUE]...",
                 "flink-swarm [GLOBAL OPTIONS] spark list", "flink-swarm [GLOBAL OPTIONS] spark kill APP_ID",
                 "flink-swarm [GLOBAL OPTIONS] spark ui [--port N]"):
        assert line in done.stdout
