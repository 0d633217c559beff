"""Host scripts that handle secrets, run for real against a fake `docker` that fails where it hurts.

A failed step's error holds its command and everything it printed (pulumi-command v1.2.1
provider/pkg/provider/remote/commandOutputs.go:101), whatever `logging` says; so a script must
never print a secret, not even when docker fails and echoes what it was given.
"""
import subprocess

import pytest

from components.steps import SCRIPTS

TOKEN, PASSWORD = "SWMTKN-1-secret-token", "weave-secret-password"

# A docker stand-in: answers `info` as an inactive node; fails the call that contains $FAIL, echoing it.
FAKE_DOCKER = r'''#!/bin/bash
case "$*" in
  *LocalNodeState*) echo inactive ;;
  *"join-token -q worker"*) echo SWMTKN-1-worker-token ;;
  *"plugin inspect"*) exit 1 ;;
esac
if [[ -n "$FAIL" && "$*" == *"$FAIL"* ]]; then echo "Error response from daemon: cannot do: $*" >&2; exit 1; fi
'''


@pytest.fixture
def run_script(tmp_path):
    """run_script(name, *args, stdin=, fail=) -> (exit code, everything printed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # retries without waiting
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)

    def run(name, *args, stdin="", fail=""):
        done = subprocess.run(["bash", str(SCRIPTS / f"{name}.sh"), *args], input=stdin, capture_output=True,
                              text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAIL": fail}, timeout=60)
        return done.returncode, done.stdout + done.stderr

    return run


def test_a_failing_join_never_prints_its_token(run_script):
    code, printed = run_script("swarm-join", "198.51.100.7", "198.51.100.1:2377", stdin=TOKEN + "\n",
                               fail="swarm join")
    assert code == 1 and "attempt 30 to join" in printed
    assert TOKEN not in printed and "<token>" in printed  # docker's own message, the token masked


def test_tokens_are_printed_both_or_not_at_all(run_script):
    code, printed = run_script("swarm-tokens", fail="join-token -q manager")
    assert code != 0 and "SWMTKN-1-worker-token" not in printed
    code, printed = run_script("swarm-tokens")
    assert code == 0 and printed.splitlines()[0] == "SWMTKN-1-worker-token"


def test_a_failing_weave_setting_never_prints_the_password(run_script):
    code, printed = run_script("weave-plugin", "weaveworks/net-plugin:latest_release", "172.30.0.0/16", "1376",
                               stdin=PASSWORD + "\n", fail="plugin set")
    assert code == 1 and "configuring weaveworks/net-plugin:latest_release failed" in printed
    assert PASSWORD not in printed and "<password>" in printed
