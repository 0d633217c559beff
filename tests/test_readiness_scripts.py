"""The readiness steps' scripts (`up` returns when Flink serves: components/services.py readiness), run for
real against a fake `docker` and a fake `curl` that play a scenario from files."""
import re
import subprocess

import pytest

from components.steps import script_text

# The scenario: $FAKE/<service>.update is the UpdateStatus state (absent: none), <service>.running the
# CurrentState lines of its tasks desired Running, <service>.failed the `ID CurrentState` lines of the
# tasks swarm keeps; with <service>.failing present, every `service ps` of it adds a failed task, with
# <service>.fail-at holding N, the Nth one does. Every call is logged.
FAKE_DOCKER = r'''#!/bin/bash
echo "$*" >>"$FAKE/log"
read_file() { cat "$FAKE/$1" 2>/dev/null || true; }
case "$*" in
  "node ls -q") echo node1 ;;
  "service inspect --format {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} "*) read_file "${*: -1}.update" ;;
  "service inspect --format {{.UpdateStatus.Message}} "*) echo "update paused due to failure or early termination" ;;
  "service ps "*" --format {{.ID}} {{.CurrentState}}")
    if [ -e "$FAKE/$3.failing" ]; then echo "t$RANDOM$RANDOM Failed" >>"$FAKE/$3.failed"; fi
    if [ "$(grep -c "^service ps $3 --format" "$FAKE/log")" = "$(cat "$FAKE/$3.fail-at" 2>/dev/null)" ]; then
      echo "once Failed" >>"$FAKE/$3.failed"
    fi
    read_file "$3.failed" ;;
  "service ps "*" --filter desired-state=running --format {{.CurrentState}}") read_file "$3.running" ;;
  "service ps --no-trunc "*) echo "taskmanager.1 on node1: Failed 2 seconds ago (desired Shutdown) task: non-zero exit (1)" ;;
  "service logs --no-task-ids --tail 25 "*) echo "IllegalConfigurationException: Sum of configured memory exceeds" ;;
  "ps -q --filter label=com.docker.swarm.service.name=jobmanager") echo c0ffee ;;
  "logs --tail 30 c0ffee") echo "jobmanager: Registering TaskManager with ResourceID" ;;
  *) echo "unexpected: docker $*" >&2; exit 1 ;;
esac
'''
# curl answers the lines of $FAKE/overview one call after another (the last one from then on).
FAKE_CURL = r'''#!/bin/bash
calls=$(( $(cat "$FAKE/curl-calls" 2>/dev/null || echo 0) + 1 ))
echo "$calls" >"$FAKE/curl-calls"
line=$(sed -n "${calls}p" "$FAKE/overview")
[ -n "$line" ] || line=$(tail -n 1 "$FAKE/overview")
if [ "$line" = refused ]; then echo "curl: (7) Failed to connect to 127.0.0.1 port 8081" >&2; exit 7; fi
echo "$line"
'''
SERVICES = ("zookeeper=1", "jobmanager=1", "taskmanager=2")


@pytest.fixture
def fake(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("curl", FAKE_CURL), ("sleep", "#!/bin/sh\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)

    def run(step: str, *args: str):
        done = subprocess.run(["bash", "-c", script_text(step), step, *args], capture_output=True, text=True,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE": str(tmp_path)}, timeout=60)
        return done.returncode, done.stdout + done.stderr

    run.dir = tmp_path
    return run


def running(fake, **tasks):
    for service, count in tasks.items():
        (fake.dir / f"{service}.running").write_text("Running 9 seconds ago\n" * count)


def test_ready_when_every_service_runs_its_tasks_for_three_looks(fake):
    running(fake, zookeeper=1, jobmanager=1, taskmanager=2)
    (fake.dir / "taskmanager.failed").write_text("old1 Failed\n")  # from before this step: not counted
    code, printed = fake("flink-ready", "30", "abc123", *SERVICES)
    assert code == 0, printed
    assert "every service runs its tasks (zookeeper=1 jobmanager=1 taskmanager=2)" in printed
    looks = [line for line in (fake.dir / "log").read_text().splitlines() if "desired-state=running" in line]
    assert len(looks) == 3 * 3


def test_a_rolled_back_update_fails_naming_the_service_and_flinks_error(fake):
    running(fake, zookeeper=1, jobmanager=1, taskmanager=2)  # the old tasks run again after the rollback
    (fake.dir / "taskmanager.update").write_text("rollback_completed\n")
    code, printed = fake("flink-ready", "30", "abc123", *SERVICES)
    assert code == 1
    assert "taskmanager: its update failed and was rollback_completed: update paused due to failure" in printed
    assert "task: non-zero exit (1)" in printed  # docker service ps --no-trunc
    assert "IllegalConfigurationException" in printed  # the tasks' last log lines


def test_tasks_that_keep_failing_fail_the_step_without_waiting_out_the_bound(fake):
    running(fake, zookeeper=1, jobmanager=1, taskmanager=1)
    (fake.dir / "taskmanager.failing").write_text("")
    code, printed = fake("flink-ready", "600", "abc123", *SERVICES)
    assert code == 1
    assert "taskmanager: 3 of its tasks failed since this step began" in printed
    (task,) = re.findall(r"^service logs --no-task-ids --tail 25 (\S+)$", (fake.dir / "log").read_text(), re.M)
    assert task in (fake.dir / "taskmanager.failed").read_text().split()  # one of the failed tasks' logs
    assert f"the last log lines of its failed task {task}, taskmanager" in printed


def test_a_task_that_failed_once_restarts_the_count_of_stable_looks(fake):
    running(fake, zookeeper=1, jobmanager=1, taskmanager=2)
    (fake.dir / "jobmanager.fail-at").write_text("4\n")  # the snapshot, then the third look sees one failure
    code, printed = fake("flink-ready", "30", "abc123", *SERVICES)
    assert code == 0, printed
    looks = [line for line in (fake.dir / "log").read_text().splitlines() if "desired-state=running" in line]
    assert len(looks) == 3 * (2 + 1 + 3)  # two ready looks, the one that saw the failure, three more


def test_not_ready_within_the_bound_names_the_service_waited_for(fake):
    running(fake, zookeeper=1, jobmanager=1, taskmanager=1)  # one of two taskmanagers
    code, printed = fake("flink-ready", "1", "abc123", *SERVICES)
    assert code == 1
    assert "taskmanager: not ready after 1 s: waiting for taskmanager (1 of 2 tasks running)" in printed
    assert "IllegalConfigurationException" in printed


def test_serving_when_the_rest_api_counts_every_taskmanager_and_slot(fake):
    (fake.dir / "overview").write_text('refused\n{"taskmanagers":1,"slots-total":2}\n'
                                       '{"taskmanagers":2,"slots-total":4,"slots-available":4}\n')
    code, printed = fake("flink-serving", "30", "8081", "jobmanager", "2", "4", "abc123")
    assert code == 0, printed
    assert "Flink serves: 2 taskmanager(s), 4 slot(s)" in printed
    assert (fake.dir / "curl-calls").read_text().strip() == "3"


def test_not_serving_within_the_bound_says_what_flink_answered_and_its_log(fake):
    (fake.dir / "overview").write_text('{"taskmanagers":1,"slots-total":2}\n')
    code, printed = fake("flink-serving", "1", "8081", "jobmanager", "2", "4", "abc123")
    assert code == 1
    assert "wanted at least 2 taskmanager(s) and 4 slot(s), last answer: 1 taskmanager(s), 2 slot(s)" in printed
    assert "jobmanager: Registering TaskManager" in printed


def test_a_worker_being_removed_still_counts_its_taskmanager(fake):
    """`up` deletes last: the readiness steps run while a removed worker still runs its taskmanager."""
    running(fake, zookeeper=1, jobmanager=1, taskmanager=3)
    assert fake("flink-ready", "30", "abc123", *SERVICES)[0] == 0
    (fake.dir / "overview").write_text('{"taskmanagers":3,"slots-total":6}\n')
    assert fake("flink-serving", "30", "8081", "jobmanager", "2", "4", "abc123")[0] == 0
