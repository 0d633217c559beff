"""Host scripts that handle secrets, run for real against a fake `docker` and `curl` that fail where it hurts.

A failed step's error holds its command and everything it printed (pulumi-command v1.2.1
provider/pkg/provider/remote/commandOutputs.go:101), whatever `logging` says; so a script must
never print a secret, not even when docker fails and echoes what it was given.
"""
import subprocess

import pytest

from components.steps import script_text

TOKEN, PASSWORD = "SWMTKN-1-0abc-secrettoken", "weave-secret-password"

# A docker stand-in: answers `info` as an inactive node; fails the call that contains $FAIL, echoing it.
FAKE_DOCKER = r'''#!/bin/bash
case "$*" in
  *LocalNodeState*) echo inactive ;;
  *"join-token -q worker"*) echo SWMTKN-1-worker-token ;;
  *"plugin inspect"*) exit 1 ;;
  *"version -f"*) echo 28.5.2 ;;
esac
if [[ -n "$FAIL" && "$*" == *"$FAIL"* ]]; then echo "Error response from daemon: cannot do: $*" >&2; exit 1; fi
'''


# A curl stand-in for the Engine API on the socket: records its command line; fails when $FAIL is in
# the URL, echoing the request body it read, as a daemon's error might.
FAKE_CURL = r'''#!/bin/bash
echo "$*" >>"$ARGV_LOG"
body=$(cat)
if [[ -n "$FAIL" && "$*" == *"$FAIL"* ]]; then echo "{\"message\":\"cannot do: $body\"}"; exit 22; fi
'''


@pytest.fixture
def run_script(tmp_path):
    """run_script(name, *args, stdin=, fail=) -> (exit code, everything printed), the script run as a
    step runs it (`bash -c '<text>' name args...`); `argv` holds the command lines curl was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # retries without waiting
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)

    argv = tmp_path / "argv"
    argv.touch()

    def run(name, *args, stdin="", fail=""):
        done = subprocess.run(["bash", "-c", script_text(name), name, *args], input=stdin, capture_output=True,
                              text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAIL": fail,
                                              "ARGV_LOG": str(argv),
                                              "FLINK_SWARM_WEAVE_RECORD": str(tmp_path / "weave-record")}, timeout=60)
        return done.returncode, done.stdout + done.stderr

    run.argv = argv
    return run


def test_a_failing_join_never_prints_its_token_nor_puts_it_on_a_command_line(run_script):
    code, printed = run_script("swarm-join", "198.51.100.7", "198.51.100.1:2377", stdin=TOKEN + "\n",
                               fail="/swarm/join")
    assert code == 1 and "attempt 30 to join" in printed
    assert TOKEN not in printed and "<token>" in printed  # the daemon's answer, the token masked
    argv = run_script.argv.read_text()
    assert "--unix-socket /var/run/docker.sock" in argv and TOKEN not in argv  # the body went on stdin


def test_a_join_refuses_what_is_not_a_join_token(run_script):
    code, printed = run_script("swarm-join", "198.51.100.7", "198.51.100.1:2377", stdin="--help\n")
    assert code == 1 and "not a swarm join token" in printed and run_script.argv.read_text() == ""


def test_tokens_are_printed_both_or_not_at_all(run_script):
    code, printed = run_script("swarm-tokens", fail="join-token -q manager")
    assert code != 0 and "SWMTKN-1-worker-token" not in printed
    code, printed = run_script("swarm-tokens")
    assert code == 0 and printed.splitlines()[0] == "SWMTKN-1-worker-token"


def test_a_failing_weave_setting_never_prints_the_password_nor_puts_it_on_a_command_line(run_script):
    code, printed = run_script("weave-plugin", "weaveworks/net-plugin:latest_release@sha256:" + "d" * 64,
                               "172.30.0.0/16", "1376", stdin=PASSWORD + "\n", fail="/set")
    assert code == 1 and "configuring weaveworks/net-plugin:latest_release failed" in printed
    assert PASSWORD not in printed and "<password>" in printed
    argv = run_script.argv.read_text()
    assert "/plugins/weaveworks/net-plugin:latest_release/set" in argv and PASSWORD not in argv


def test_the_control_steps_wait_for_the_swarm_to_elect_a_leader(run_script, tmp_path):
    """A manager just lost answers "no leader" for about 10 s; the tokens and labels wait, then go on."""
    count = tmp_path / "node-ls-calls"
    (tmp_path / "bin" / "docker").write_text(FAKE_DOCKER.replace("case \"$*\" in", f'''case "$*" in
  "node ls -q") n=$(( $(cat {count} 2>/dev/null || echo 0) + 1 )); echo "$n" >{count}
     [ "$n" -gt 3 ] || {{ echo "Error response from daemon: The swarm does not have a leader." >&2; exit 1; }} ;;
  *"join-token -q manager"*) echo SWMTKN-1-manager-token ;;''', 1))
    code, printed = run_script("swarm-tokens")
    assert code == 0 and printed.count("no leader yet") == 3, printed
    assert printed.startswith("SWMTKN-1-worker-token\nSWMTKN-1-manager-token\n")  # stdout, then the log
    count.unlink()
    code, printed = run_script("node-labels", f"{'a' * 25}=role=worker")
    assert code == 0 and printed.count("no leader yet") == 3 and "labelled 1 nodes" in printed, printed
