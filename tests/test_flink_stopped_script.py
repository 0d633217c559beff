"""scripts/flink-stopped.sh (destroy: ZooKeeper goes once the removed Flink tasks have stopped), run for
real against a fake `docker` whose removed tasks stop after a given number of polls."""
import subprocess

import pytest

from components.steps import script_text

# `docker node ps` lists two removed tasks (desired state Remove) and a running one until $POLLS polls
# have gone by; every call is logged.
FAKE_DOCKER = r'''#!/bin/bash
echo "$*" >>"$LOG"
case "$*" in
  *LocalNodeState*) echo "$STATE" ;;
  "node ls -q") printf 'node1\nnode2\n' ;;
  "node ps node1 node2 --format {{.DesiredState}}")
    polls=$(grep -c "^node ps" "$LOG")
    if [ "$polls" -le "$POLLS" ]; then printf 'Remove\nRunning\nRemove\n'; else echo Running; fi ;;
  *) echo "unexpected: docker $*" >&2; exit 1 ;;
esac
'''


@pytest.fixture
def run_stopped(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # polls without waiting
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    log = tmp_path / "log"

    def run(polls: int, state: str = "active"):
        log.write_text("")
        done = subprocess.run(["bash", "-c", script_text("flink-stopped"), "flink-stopped"],
                              capture_output=True, text=True,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "POLLS": str(polls),
                                   "STATE": state}, timeout=60)
        node_ps = [line for line in log.read_text().splitlines() if line.startswith("node ps")]
        return done.returncode, done.stderr, len(node_ps)

    return run


def test_it_waits_until_no_removed_task_runs(run_stopped):
    code, printed, polls = run_stopped(polls=3)
    assert (code, polls) == (0, 4)  # three polls still saw removed tasks, the fourth none
    assert "no task of a removed service is running" in printed


def test_it_gives_up_after_60_polls_and_lets_the_destroy_go_on(run_stopped):
    code, printed, polls = run_stopped(polls=1000)
    assert (code, polls) == (0, 60)
    assert "2 task(s) of removed services still running after 60 s" in printed


def test_outside_a_swarm_it_does_nothing(run_stopped):
    assert run_stopped(polls=1000, state="inactive") == (0, "", 0)
