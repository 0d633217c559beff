"""`flink-swarm logs` and `flink-swarm shell` (tools/flink_swarm_cli/remote.py): main(argv) in-process, and
the installed console command as a subprocess, against a fake `pulumi` (the stack's outputs), a fake `ssh`
(it runs the remote command with sh, as the node's login shell would), a fake `sudo` (`-n`, then the
command) and a fake `docker` on PATH. Every call is logged, so the tests assert the exact argv."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.harness import as_from_a_terminal
from tests.test_flink_tool import FAKE_PULUMI, JM, executable, ssh_options

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

from flink_swarm_cli import main  # noqa: E402
from flink_swarm_cli.main import parse, split_program_args  # noqa: E402
from flink_swarm_cli.remote import BASH_ELSE_SH, logs_command  # noqa: E402

FAKE_SSH = """import json, os, signal, subprocess, sys
# ssh as the CLI runs it: options, `--`, the host, then one remote command for the node's shell.
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["ssh", *argv]) + "\\n")
with open(os.environ["FAKE_SSH_PIDS"], "a") as pids:
    pids.write(f"{os.getpid()}\\n")
end = argv.index("--")
host, command = argv[end + 1], argv[end + 2:]
assert len(command) == 1, command
if os.environ.get("FAKE_SSH_FAIL"):
    print(f"flink@{host}: Permission denied (publickey).", file=sys.stderr)
    sys.exit(255)
if os.environ.get("FAKE_SSH_SIGNAL") and "docker exec" in command[0]:
    os.kill(os.getpid(), int(os.environ["FAKE_SSH_SIGNAL"]))
sys.exit(subprocess.run(["sh", "-c", command[0]], check=False).returncode)
"""
FAKE_SUDO = """import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["sudo", *sys.argv[1:]]) + "\\n")
assert sys.argv[1] == "-n", sys.argv  # never a password prompt
if os.environ.get("FAKE_SUDO_PASSWORD"):
    sys.exit("sudo: a password is required")
os.execvp(sys.argv[2], sys.argv[2:])
"""
FAKE_DOCKER = """import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker", *args]) + "\\n")
if args[0] == "ps":
    print(os.environ.get("FAKE_CONTAINERS", "c0ffee00c0ff\\nbeefbeefbeef"))
elif args[:2] == ["service", "logs"]:
    name = args[-1]
    if name not in ("jobmanager", "taskmanager", "zookeeper"):
        sys.exit(f"no such task or service: {name}")
    for i in range(3):
        print(f"{name}.1.x@node | line {i}", flush=True)
    print(f"{name}.1.x@node | on stderr", file=sys.stderr, flush=True)
    if "--follow" in args:
        for i in range(3, 600):  # a minute at most; ends at once when nobody reads
            time.sleep(0.1)
            print(f"{name}.1.x@node | line {i}", flush=True)
elif args[0] == "exec":
    print("exec", *args[1:], flush=True)
    sys.exit(int(os.environ.get("FAKE_EXEC_CODE", "0")))
"""
MANAGER, CONTROL = "azure-swarm-manager", "azure-swarm-manager-2"
WORKER_1, WORKER_2 = "azure-swarm-worker-1", "google-cloud-worker-1"
# Two managers on one host (a local stack's nodes are all 127.0.0.1): only the port tells the control
# manager, the second one here (controlManager), from the first.
OUTPUTS = {
    "nodes": [{"name": MANAGER, "role": "manager"}, {"name": CONTROL, "role": "manager"},
              {"name": JM, "role": "jobmanager"}, {"name": WORKER_1, "role": "worker"},
              {"name": WORKER_2, "role": "worker"}],
    "ssh": {MANAGER: {"host": "127.0.0.1", "port": 2222, "user": "flink"},
            CONTROL: {"host": "127.0.0.1", "port": 2223, "user": "flink"},
            JM: {"host": "203.0.113.7", "port": 22, "user": "azureuser"},
            WORKER_1: {"host": "203.0.113.21", "port": 22, "user": "azureuser"},
            WORKER_2: {"host": "198.51.100.31", "port": 2200, "user": "flink"}},
    "dockerHost": "ssh://flink@127.0.0.1:2223",
    "managerAddress": "127.0.0.1",
    "flinkRest": {"node": JM, "port": 8081, "url": None},
    "sshIdentity": {"stack": "dev", "agent": False},
}
KEEPALIVE = ["-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
PS = {"jobmanager": "sudo -n docker ps -q --filter label=com.docker.swarm.service.name=jobmanager --filter "
                    "status=running",
      "taskmanager": "sudo -n docker ps -q --filter label=com.docker.swarm.service.name=taskmanager --filter "
                     "status=running"}


@pytest.fixture
def nodes(tmp_path, monkeypatch):
    """The fakes on PATH (in this process's environment too); `calls()` what they were asked, `ssh(node)`
    the argv the CLI gives ssh for that node, up to the host."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pulumi", FAKE_PULUMI), ("ssh", FAKE_SSH), ("sudo", FAKE_SUDO), ("docker", FAKE_DOCKER)):
        executable(bin_dir / name, text)
    log, pids = tmp_path / "calls.jsonl", tmp_path / "ssh.pids"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_LOG": str(log),
           "FAKE_SSH_PIDS": str(pids), "FAKE_OUTPUTS": json.dumps(OUTPUTS)}
    monkeypatch.delenv("FLINK_SWARM_KEY_DIR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def ssh(node: str, *options: str) -> list[str]:
        where = OUTPUTS["ssh"][node]
        return ["ssh", *ssh_options(tmp_path), *options, *KEEPALIVE, "-p", str(where["port"]), "-l", where["user"],
                "--", where["host"]]

    return SimpleNamespace(env=env, calls=calls, ssh=ssh, bin=bin_dir, home=tmp_path,
                           ssh_pids=lambda: [int(p) for p in pids.read_text().split()] if pids.exists() else [])


def outputs(monkeypatch, **changed) -> None:
    monkeypatch.setenv("FAKE_OUTPUTS", json.dumps({**OUTPUTS, **changed}))


def cli(capfd, *argv: str) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr), the fakes' output included (file descriptors)."""
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def of(calls: list[list[str]], program: str) -> list[list[str]]:
    return [c for c in calls if c[0] == program]


# logs ---------------------------------------------------------------------------------------------------


def test_logs_runs_docker_service_logs_on_the_control_manager(nodes, capfd):
    code, out, err = cli(capfd, "--stack", "dev", "logs", "jobmanager")
    assert code == 0, err
    assert out.splitlines() == [f"jobmanager.1.x@node | line {i}" for i in range(3)]
    assert err == "jobmanager.1.x@node | on stderr\n"  # docker's stderr, as it is
    pulumi, ssh, sudo, docker = nodes.calls()
    assert pulumi == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    assert ssh == [*nodes.ssh(CONTROL), "sudo -n docker service logs -- jobmanager"]
    assert sudo == ["sudo", "-n", "docker", "service", "logs", "--", "jobmanager"]
    assert docker == ["docker", "service", "logs", "--", "jobmanager"]


@pytest.mark.parametrize("argv, command", [
    (["zookeeper", "-f"], "--follow -- zookeeper"),
    (["--follow", "--timestamps", "taskmanager"], "--follow --timestamps -- taskmanager"),
    (["jobmanager", "--since", "10m", "--tail", "0"], "--since 10m --tail 0 -- jobmanager"),
    (["jobmanager.1.vq1x2tk8r0nmczl3y7xq3w5sa", "--tail", "all", "--since", "2026-12-07T13:23:37Z"],
     "--since 2026-12-07T13:23:37Z --tail all -- jobmanager.1.vq1x2tk8r0nmczl3y7xq3w5sa"),
    (["vq1x2tk8r0nm", "--since", "2026-12-07T13:23:37.5+01:00", "--timestamps"],
     "--since 2026-12-07T13:23:37.5+01:00 --timestamps -- vq1x2tk8r0nm"),
])
def test_logs_options_as_docker_takes_them(argv, command):
    assert logs_command(parse(["logs", *argv], "flink-swarm")) == f"sudo -n docker service logs {command}"


@pytest.mark.parametrize("since", ["10m", "1h30m", "1.5h", "300ms", "45s", "2026-12-07", "2026-12-07T13",
                                   "2026-12-07T13:23", "2026-12-07T13:23:37", "2026-12-07T13:23:37Z",
                                   "2026-12-07T13:23:37.123456789-05:00", "2026-12-07+01:00", "1765113817",
                                   "1765113817.25", "0"])
def test_logs_since_takes_what_docker_takes(since):
    assert parse(["logs", "jobmanager", "--since", since], "flink-swarm").since == since


@pytest.mark.parametrize("argv, argument, value, fix", [
    (["a;b"], "SERVICE_OR_TASK", "a;b", "give one such as jobmanager, taskmanager or zookeeper"),
    (["$(reboot)"], "SERVICE_OR_TASK", "$(reboot)", "give one such as jobmanager"),
    (["job manager"], "SERVICE_OR_TASK", "job manager", "give one such as jobmanager"),
    (["--", "-f"], "SERVICE_OR_TASK", "-f", "starting with a letter or digit"),
    ([".hidden"], "SERVICE_OR_TASK", ".hidden", "starting with a letter or digit"),
    (["jobmanager\n"], "SERVICE_OR_TASK", "jobmanager\n", "letters, digits, '.', '_' and '-'"),
    ([""], "SERVICE_OR_TASK", "", "give one such as jobmanager"),
    (["jobmanager", "--since", "now"], "--since", "now", "give a duration (10m, 1h30m), a date or time"),
    (["jobmanager", "--since", "1d"], "--since", "1d", "give a duration (10m, 1h30m)"),  # Go has no days
    (["jobmanager", "--since", "2026-12-07 13:00"], "--since", "2026-12-07 13:00", "2026-12-07T13:23:37Z"),
    (["jobmanager", "--since=$(date)"], "--since", "$(date)", "or Unix seconds"),
    (["jobmanager", "--tail", "-1"], "--tail", "-1", "give 0, 1, 2, ... or all"),
    (["jobmanager", "--tail", "ten"], "--tail", "ten", "give 0, 1, 2, ... or all"),
    (["jobmanager", "--tail", "ALL"], "--tail", "ALL", "give 0, 1, 2, ... or all"),
])
def test_logs_refuses_what_is_not_a_name_a_time_or_a_count(nodes, capfd, argv, argument, value, fix):
    code, out, err = cli(capfd, "logs", *argv)
    assert (code, out) == (2, "")
    line = err.splitlines()[-1]
    assert line.startswith(f"flink-swarm logs: error: argument {argument}: {value!r} is not "), err
    assert fix in line
    assert nodes.calls() == []  # neither pulumi nor ssh ran


def test_logs_passes_dockers_refusal_and_exit_code_on(nodes, capfd):
    code, out, err = cli(capfd, "logs", "nosuchservice")
    assert (code, out) == (1, "")
    assert err == "no such task or service: nosuchservice\n"


def test_logs_passes_ssh_failing_on(nodes, capfd, monkeypatch):
    monkeypatch.setenv("FAKE_SSH_FAIL", "1")
    code, out, err = cli(capfd, "logs", "jobmanager")
    assert (code, out) == (255, "")
    assert err == "flink@127.0.0.1: Permission denied (publickey).\n"


def test_logs_follow_streams_until_ctrl_c_then_exits_0(nodes):
    command = Path(sysconfig.get_path("scripts")) / "flink-swarm"
    proc = subprocess.Popen([str(command), "logs", "jobmanager", "-f", "--tail", "5"], env=nodes.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines == [f"jobmanager.1.x@node | line {i}\n" for i in range(5)], proc.stderr.read()
        assert proc.poll() is None  # printed as they came, still following
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.stdout.close()
    assert "interrupted" not in proc.stderr.read()
    [ssh] = nodes.ssh_pids()
    with pytest.raises(ProcessLookupError):
        os.kill(ssh, 0)  # ended and reaped with the command
    assert of(nodes.calls(), "ssh") == [[*nodes.ssh(CONTROL), "sudo -n docker service logs --follow --tail 5 -- "
                                                                "jobmanager"]]


def test_logs_needs_the_stack_even_with_url(nodes, capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, out, err = cli(capfd, "--url", "http://127.0.0.1:8081", "logs", "jobmanager")
    assert (code, out) == (1, "")
    assert err == ("flink-swarm: logs reads them on the swarm's control manager over SSH, so it needs the "
                   "stack's outputs (`--url` is not enough): the Pulumi CLI is not on PATH: install it, or give the "
                   "cluster with --url\n")


def test_logs_refuses_a_docker_host_that_is_no_nodes(nodes, capfd, monkeypatch):
    outputs(monkeypatch, dockerHost="ssh://flink@127.0.0.1:2299")
    code, _, err = cli(capfd, "logs", "jobmanager")
    assert code == 1
    assert err == ("flink-swarm: no node of the stack's output `ssh` is the control manager of output `dockerHost` "
                   "(ssh://flink@127.0.0.1:2299): run `pulumi up` to bring the outputs up to date\n")
    assert of(nodes.calls(), "ssh") == []


@pytest.mark.parametrize("changed, found", [
    ({"dockerHost": "tcp://127.0.0.1:2376"}, "is not as this CLI reads it (not ssh://user@host:port: "
                                             "'tcp://127.0.0.1:2376')"),
    ({"dockerHost": None}, "is not as this CLI reads it"),
])
def test_logs_refuses_a_docker_host_it_cannot_read(nodes, capfd, monkeypatch, changed, found):
    outputs(monkeypatch, **changed)
    code, _, err = cli(capfd, "logs", "jobmanager")
    assert code == 1
    assert err.startswith(f"flink-swarm: the stack's output `dockerHost` {found}")
    assert of(nodes.calls(), "ssh") == []


def test_logs_no_stack_output_reaches_a_shell(nodes, capfd, monkeypatch, tmp_path):
    marker = tmp_path / "ran"
    host, user = f"$(touch${{IFS}}{marker})", f"`touch${{IFS}}{marker}`;x"
    outputs(monkeypatch, dockerHost=f"ssh://{user}@{host}:22",
            ssh={**OUTPUTS["ssh"], CONTROL: {"host": host, "port": 22, "user": user}})
    code, _, err = cli(capfd, "logs", "jobmanager")
    assert code == 0, err
    [ssh] = of(nodes.calls(), "ssh")
    assert ssh[-5:] == ["-l", user, "--", host, "sudo -n docker service logs -- jobmanager"]
    assert not marker.exists()


# shell --------------------------------------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch):
    """stdin is a terminal, as when a person runs `flink-swarm shell`."""
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(isatty=lambda: True))


def test_shell_opens_a_shell_in_the_jobmanagers_container(nodes, capfd, terminal):
    code, out, err = cli(capfd, "shell")
    assert code == 0, err
    pulumi, ps_ssh, ps_sudo, ps, exec_ssh, exec_sudo, docker_exec = nodes.calls()
    assert ps_ssh == [*nodes.ssh(JM), PS["jobmanager"]]
    assert ps[1:] == ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=jobmanager", "--filter",
                      "status=running"]
    assert exec_ssh == [*nodes.ssh(JM, "-t"),
                        "sudo -n docker exec -it c0ffee00c0ff sh -c "
                        "'if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh'"]
    assert docker_exec == ["docker", "exec", "-it", "c0ffee00c0ff", "sh", "-c", BASH_ELSE_SH]  # the first container
    assert out == f"exec -it c0ffee00c0ff sh -c {BASH_ELSE_SH}\n"


@pytest.mark.parametrize("path, says", [("with bash", "bash here"), ("without", "sh here")])
def test_the_shell_is_bash_or_else_sh(tmp_path, path, says):
    folder = tmp_path / path
    folder.mkdir()
    (folder / "sh").symlink_to("/bin/sh")
    if path == "with bash":
        executable(folder / "bash", "print('bash here')\n")
    done = subprocess.run(["/bin/sh", "-c", BASH_ELSE_SH], input="echo sh here\n", capture_output=True, text=True,
                          env={"PATH": str(folder)}, check=False, timeout=30)
    assert (done.returncode, done.stdout) == (0, f"{says}\n"), done.stderr


def test_shell_runs_a_command_without_a_terminal_and_passes_its_exit_code_on(nodes, capfd, monkeypatch):
    monkeypatch.setenv("FAKE_EXEC_CODE", "3")
    code, out, err = cli(capfd, "shell", "--", "sh", "-c", "echo $HOME; exit 3", "it's")
    assert code == 3, err
    *_, exec_ssh, _, docker_exec = nodes.calls()
    assert exec_ssh == [*nodes.ssh(JM), "sudo -n docker exec c0ffee00c0ff sh -c 'echo $HOME; exit 3' 'it'\"'\"'s'"]
    assert docker_exec == ["docker", "exec", "c0ffee00c0ff", "sh", "-c", "echo $HOME; exit 3", "it's"]
    assert out == "exec c0ffee00c0ff sh -c echo $HOME; exit 3 it's\n"


def test_shell_in_the_first_workers_taskmanager_by_default(nodes, capfd):
    code, _, err = cli(capfd, "--stack", "dev", "shell", "taskmanager", "--", "ls", "/opt/flink/log")
    assert code == 0, err
    ssh = of(nodes.calls(), "ssh")
    assert ssh == [[*nodes.ssh(WORKER_1), PS["taskmanager"]],
                   [*nodes.ssh(WORKER_1), "sudo -n docker exec c0ffee00c0ff ls /opt/flink/log"]]


def test_shell_in_the_taskmanager_of_the_node_given(nodes, capfd, terminal):
    code, _, err = cli(capfd, "shell", "taskmanager", "--node", WORKER_2)
    assert code == 0, err
    ssh = of(nodes.calls(), "ssh")
    assert [c[:-1] for c in ssh] == [nodes.ssh(WORKER_2), nodes.ssh(WORKER_2, "-t")]
    assert ssh[0][-1] == PS["taskmanager"]


@pytest.mark.parametrize("argv, message", [
    (["taskmanager", "--node", MANAGER], f"--node '{MANAGER}' is not a worker of the stack (output `nodes`): give "
                                         f"one of {WORKER_1}, {WORKER_2}"),
    (["taskmanager", "--node", "nowhere"], f"--node 'nowhere' is not a worker of the stack (output `nodes`): give "
                                           f"one of {WORKER_1}, {WORKER_2}"),
    (["--node", WORKER_1], f"--node {WORKER_1}: the jobmanager runs on {JM}; for a taskmanager's container give "
                           f"`shell taskmanager --node {WORKER_1}`"),
])
def test_shell_refuses_a_node_that_runs_no_such_container(nodes, capfd, argv, message):
    code, out, err = cli(capfd, "shell", *argv, "--", "true")
    assert (code, out, err) == (1, "", f"flink-swarm: {message}\n")
    assert [c[0] for c in nodes.calls()] == ["pulumi"]


def test_shell_jobmanager_on_its_own_node_given(nodes, capfd):
    assert cli(capfd, "shell", "jobmanager", "--node", JM, "--", "true")[0] == 0
    assert {c[c.index("--") + 1] for c in of(nodes.calls(), "ssh")} == {OUTPUTS["ssh"][JM]["host"]}


def test_shell_a_stack_without_workers(nodes, capfd, monkeypatch):
    outputs(monkeypatch, nodes=OUTPUTS["nodes"][:3])
    code, _, err = cli(capfd, "shell", "taskmanager", "--", "true")
    assert code == 1
    assert err == "flink-swarm: the stack's output `nodes` has no worker, so no taskmanager: run `pulumi up`\n"


def test_shell_without_a_running_container_says_where_and_what_to_look_at(nodes, capfd, monkeypatch):
    monkeypatch.setenv("FAKE_CONTAINERS", "")
    code, out, err = cli(capfd, "shell", "taskmanager", "--node", WORKER_2, "--", "true")
    assert (code, out) == (1, "")
    assert err == f"flink-swarm: no running taskmanager container on {WORKER_2}: `flink-swarm logs taskmanager` " \
                  "says why\n"
    assert [c[1] for c in of(nodes.calls(), "docker")] == ["ps"]  # no exec


@pytest.mark.parametrize("env, message", [
    ({"FAKE_SUDO_PASSWORD": "1"}, f"`docker ps` on {JM} failed (exit code 1): sudo: a password is required"),
    ({"FAKE_SSH_FAIL": "1"}, f"`docker ps` on {JM} failed (exit code 255): flink@203.0.113.7: Permission denied "
                             "(publickey)."),
    ({"FAKE_CONTAINERS": "Cannot connect to the Docker daemon"},
     f"`docker ps` on {JM} printed 'Cannot', not a container id"),
])
def test_shell_says_why_the_container_was_not_found(nodes, capfd, monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = cli(capfd, "shell", "--", "true")
    assert (code, out, err) == (1, "", f"flink-swarm: {message}\n")
    assert len(of(nodes.calls(), "ssh")) == 1  # no exec


def test_an_interactive_shell_needs_a_terminal(nodes, capfd, monkeypatch):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(isatty=lambda: False))
    code, out, err = cli(capfd, "shell", "taskmanager")
    assert (code, out) == (1, "")
    assert err == ("flink-swarm: shell: an interactive shell needs a terminal, and stdin is not one: run it in a "
                   "terminal, or give a command after `--` (flink-swarm shell jobmanager -- ls /opt/flink/log)\n")
    assert of(nodes.calls(), "ssh") == []


def test_shell_exit_code_of_an_ssh_ended_by_a_signal_is_128_and_the_signal(nodes, capfd, monkeypatch):
    monkeypatch.setenv("FAKE_SSH_SIGNAL", str(int(signal.SIGTERM)))
    code, out, _ = cli(capfd, "shell", "--", "true")
    assert (code, out) == (128 + signal.SIGTERM, "")
    assert len(of(nodes.calls(), "ssh")) == 2 and of(nodes.calls(), "docker")[-1][1] == "ps"  # ended before exec


def test_shell_needs_the_stack_even_with_url(nodes, capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, err = cli(capfd, "--url", "http://127.0.0.1:8081", "shell", "taskmanager", "--", "true")
    assert code == 1
    assert err.startswith("flink-swarm: shell enters the taskmanager's container over SSH, so it needs the stack's "
                          "outputs (`--url` is not enough): the Pulumi CLI is not on PATH")


# the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words, command", [
    (["shell"], ["shell"], []),
    (["shell", "--", "ls", "-l"], ["shell"], ["ls", "-l"]),
    (["--stack", "dev", "shell", "taskmanager", "--node", "w", "--", "sh", "-c", "a -- b", "--"],
     ["--stack", "dev", "shell", "taskmanager", "--node", "w"], ["sh", "-c", "a -- b", "--"]),
    (["--stack", "shell", "shell", "--", "x"], ["--stack", "shell", "shell"], ["x"]),
    (["logs", "jobmanager"], ["logs", "jobmanager"], []),
])
def test_shells_command_is_every_word_after_its_double_dash(argv, words, command):
    assert split_program_args(argv) == (words, command)


def test_shell_takes_jobmanager_or_taskmanager(capfd):
    with pytest.raises(SystemExit) as done:
        parse(["shell", "zookeeper"], "flink-swarm")
    assert done.value.code == 2
    assert "argument SERVICE: invalid choice: 'zookeeper' (choose from 'jobmanager', 'taskmanager')" in \
        capfd.readouterr().err


def test_the_help_lists_logs_and_shell():
    command = Path(sysconfig.get_path("scripts")) / "flink-swarm"
    done = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "flink-swarm [GLOBAL OPTIONS] logs SERVICE_OR_TASK [-f] [--since S] [--tail N] [--timestamps]" in done.stdout
    assert "flink-swarm [GLOBAL OPTIONS] shell [jobmanager|taskmanager] [--node NODE] [-- COMMAND...]" in done.stdout
