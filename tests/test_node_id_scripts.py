"""Node ids read from the hosts drive `docker node update` and `docker node rm` on a manager: the
scripts refuse anything but a swarm node id (25 lowercase letters and digits) before calling docker."""
import subprocess

import pytest

from components.steps import script_text

NODE_ID = "x7k2m9q4w1e8r5t3y6u0i2o4p"  # as `docker info --format '{{.Swarm.NodeID}}'` prints one
BAD_IDS = ["--force", "x; rm -rf /", "", "$(reboot)", NODE_ID.upper(), NODE_ID + "\n", NODE_ID[:24], NODE_ID + "a",
           f"{NODE_ID} {NODE_ID}"]


@pytest.fixture
def run_script(tmp_path):
    """run_script(name, *args) -> (exit code, everything printed, the docker command lines run)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "docker-calls"
    calls.touch()
    docker = bin_dir / "docker"  # records its arguments; a node is a manager, has no running task;
    # the first call starting with $FAIL_ONCE fails as swarmkit does when the leadership moves
    docker.write_text('#!/bin/bash\necho "$*" >>"$CALLS"\n'
                      'if [[ -n $FAIL_ONCE && "$*" == "$FAIL_ONCE"* && ! -e $CALLS.failed ]]; then touch "$CALLS.failed"\n'
                      '  echo "Error response from daemon: rpc error: code = Unknown desc = raft: failed to process'
                      ' the request: node lost leader status" >&2; exit 1; fi\n'
                      '[[ "$*" == *Spec.Role* ]] && echo manager\n'
                      '[[ "$*" == "node ls"* ]] && printf "%b" "$NODE_LS"\nexit 0\n')
    docker.chmod(0o755)

    def run(name, *args, node_ls="", fail_once=""):
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "NODE_LS": node_ls, "FAIL_ONCE": fail_once}
        done = subprocess.run(["bash", "-c", script_text(name), name, *args], capture_output=True, text=True,
                              env=env, timeout=60)
        return done.returncode, done.stdout + done.stderr, calls.read_text().splitlines()

    return run


@pytest.mark.parametrize("node", BAD_IDS)
def test_node_remove_refuses_what_is_not_a_node_id(run_script, node):
    code, printed, calls = run_script("node-remove", node)
    assert (code, calls) == (1, []) and "not a swarm node id" in printed


@pytest.mark.parametrize("node", BAD_IDS)
def test_node_labels_refuses_what_is_not_a_node_id_before_labelling_any(run_script, node):
    code, printed, calls = run_script("node-labels", f"{NODE_ID}=disk=ssd", f"{node}=disk=ssd")
    assert (code, calls) == (1, []) and "not a swarm node id" in printed


def test_node_ids_are_used(run_script):
    code, _, calls = run_script("node-labels", f"{NODE_ID}=disk=ssd,role=worker", f"{NODE_ID[::-1]}=")
    assert code == 0 and sorted(calls) == sorted([f"node update --label-add disk=ssd --label-add role=worker {NODE_ID}",
                                                  f"node update {NODE_ID[::-1]}",
                                                  "node ls --format {{.ID}} {{.Status}}", "node ls -q"])
    code, _, calls = run_script("node-remove", NODE_ID)
    assert code == 0 and calls[-1] == f"node rm --force {NODE_ID}"


@pytest.mark.parametrize("write", ["node update", "node demote", "node rm"])
def test_node_remove_sends_a_write_again_when_the_leadership_moved(run_script, write):
    """Destroy demotes managers while the control manager removes nodes: a leader election refuses a
    write for a moment (seen in CI), and the removal must still finish."""
    code, printed, calls = run_script("node-remove", NODE_ID, fail_once=write)
    assert code == 0, printed
    assert len([c for c in calls if c.startswith(write)]) == 2 and calls[-1] == f"node rm --force {NODE_ID}"
    assert f"docker {write} failed (attempt 1 of 15)" in printed and "drained and removed" in printed


def test_labels_forget_nodes_down_and_out_of_the_topology(run_script):
    """A manager that left after handing over control has no -member step to remove it: labels do."""
    gone, away = "g" * 25, "a" * 25  # down and not listed; down but listed (a host stopped for a while)
    listing = f"{NODE_ID} Ready\\n{gone} Down\\n{away} Down\\n"
    code, printed, calls = run_script("node-labels", f"{NODE_ID}=role=worker", f"{away}=role=worker",
                                      node_ls=listing)
    assert code == 0 and [c for c in calls if c.startswith("node rm")] == [f"node rm --force {gone}"]
    assert f"removed {gone}, down and not in the topology" in printed
