"""A cloud node's first boot: its cloud-init user data, and first-boot.sh run with a fake docker.

The boot installs Docker exactly as the node's `-docker` step would (same script, same arguments),
then fetches the Flink image and the Weave plugin in the background under locks that `image-pull.sh`
and `weave-plugin.sh` wait for.
"""
import base64
import shlex
import subprocess
import time

import pytest

from components.boot import BOOT_DIR
from components.steps import SCRIPTS, script_text
from tests.harness import AZURE_VM, user_data

CMD = "command:remote:Command"
AZURE_LIMIT = 65535  # customData's decoded bytes at most (pulumi_azure_native compute OSProfileArgs.custom_data)


def step_args(run, name: str) -> list[str]:
    """The arguments a step passes its script: `sudo -n bash -c '<script>' <name> args...`."""
    return shlex.split(run.get(name, CMD).inputs["create"])[6:]


@pytest.mark.parametrize("driver", ["weave", "overlay"])
def test_every_cloud_vm_boots_the_docker_install_of_its_step_then_fetches_what_its_role_runs(program, driver):
    run = program(network={"driver": driver})
    roles = {n["name"]: n["role"] for n in run.outputs["nodes"]}
    [image] = step_args(run, "azure-flink-jobmanager-pull")
    for node, vm in run.vms().items():
        doc = user_data(vm)
        assert {f["path"]: f for f in doc["write_files"]} == {
            f"{BOOT_DIR}/{name}.sh": {"path": f"{BOOT_DIR}/{name}.sh", "permissions": "0755",
                                      "content": script_text(name)}
            for name in ("docker-install", "first-boot")}
        [command] = doc["runcmd"]
        assert command[:2] == ["bash", f"{BOOT_DIR}/first-boot.sh"]
        assert command[2:6] == step_args(run, f"{node}-docker")  # the very install its step checks
        fetched_image, plugin = command[6:]
        assert fetched_image == (image if roles[node] in ("jobmanager", "worker") else "-")
        assert plugin == ("weaveworks/net-plugin:latest_release" if driver == "weave" else "-")
        if roles[node] != "manager":
            assert step_args(run, f"{node}-pull") == [fetched_image]
        if driver == "weave":  # the tag the stack's pin resolves; its step installs the digest over it
            assert step_args(run, "swarm-weave-pin") == [plugin]
            assert step_args(run, f"{node}-weave")[0].startswith(plugin + "@sha256:")
        encoded = vm.inputs["osProfile"]["customData"] if vm.type == AZURE_VM else ""
        assert len(base64.b64decode(encoded)) <= AZURE_LIMIT


def test_the_machines_ignore_later_changes_of_their_boot_data(program):
    run = program()
    for vm in run.vms().values():
        assert vm.ignore_changes == (("osProfile.customData",) if vm.type == AZURE_VM else ("metadata.user-data",))
        assert vm.diffed_inputs.get("metadata", vm.diffed_inputs.get("osProfile")) is not None
        assert "customData" not in vm.diffed_inputs.get("osProfile", {})
        assert "user-data" not in vm.diffed_inputs.get("metadata", {})


@pytest.fixture
def boot(tmp_path):
    """boot(*args) runs first-boot.sh beside a docker-install.sh stand-in, with a fake docker whose pulls
    and plugin installs take PULL_S seconds; returns (exit code, output, the calls, the lock directory)."""
    bin_dir, locks, calls = tmp_path / "bin", tmp_path / "locks", tmp_path / "calls"
    bin_dir.mkdir()
    calls.touch()
    (tmp_path / "first-boot.sh").write_text(script_text("first-boot"))  # as the user data writes it
    (tmp_path / "docker-install.sh").write_text('echo "docker-install $* at-boot=${FLINK_SWARM_AT_BOOT:-}" >>"$CALLS"\n')
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/bash\necho "docker $*" >>"$CALLS"\n'
                      '[[ $1 == pull || $1 == plugin && $2 == install ]] && sleep "$PULL_S"\n'
                      '[[ $1 == plugin && $2 == inspect ]] && exit "$PLUGIN_ABSENT"\nexit 0\n')
    docker.chmod(0o755)

    def run(*args, pull_s="0", plugin_absent="1"):
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "FLINK_SWARM_LOCKS": str(locks),
               "PULL_S": pull_s, "PLUGIN_ABSENT": plugin_absent}
        done = subprocess.run(["bash", str(tmp_path / "first-boot.sh"), *args], capture_output=True, text=True,
                              env=env, timeout=30)
        return done.returncode, done.stdout + done.stderr, calls, locks

    return run


def test_the_boot_installs_docker_then_fetches_in_the_background_under_locks_the_steps_wait_for(boot):
    started = time.monotonic()
    code, printed, calls, locks = boot("docker-ce", "28.5.2", "ubuntu", "1.26", "flink:1.20.3-java17",
                                       "weaveworks/net-plugin:latest_release", pull_s="3")
    assert code == 0 and time.monotonic() - started < 2.5, printed  # it does not wait for the fetches
    assert calls.read_text().splitlines()[0] == "docker-install docker-ce 28.5.2 ubuntu 1.26 at-boot=1"
    for lock in ("image", "plugin"):  # held until the fetch ends: what image-pull.sh and weave-plugin.sh wait on
        assert subprocess.run(["flock", "-n", str(locks / f"{lock}.lock"), "true"]).returncode == 1
    subprocess.run(["flock", "-w", "10", str(locks / "image.lock"), "true"], check=True)
    subprocess.run(["flock", "-w", "10", str(locks / "plugin.lock"), "true"], check=True)
    assert time.monotonic() - started >= 3
    assert set(calls.read_text().splitlines()[1:]) == {
        "docker plugin inspect weaveworks/net-plugin:latest_release", "docker pull --quiet flink:1.20.3-java17",
        "docker plugin install --grant-all-permissions --disable weaveworks/net-plugin:latest_release"}


def test_a_manager_on_overlay_fetches_nothing_and_an_installed_plugin_is_kept(boot):
    code, printed, calls, _ = boot("docker.io", "-", "ubuntu", "-", "-", "-")
    assert code == 0 and calls.read_text().splitlines() == ["docker-install docker.io - ubuntu - at-boot=1"], printed
    code, printed, calls, _ = boot("docker.io", "-", "ubuntu", "-", "-", "plugin:1", plugin_absent="0")
    assert code == 0 and "plugin install" not in calls.read_text(), printed


@pytest.mark.parametrize("step, lock", [("image-pull", "image"), ("weave-plugin", "plugin")])
def test_the_steps_wait_for_the_boots_fetch(tmp_path, step, lock):
    locks, bin_dir = tmp_path / "locks", tmp_path / "bin"
    locks.mkdir()
    bin_dir.mkdir()
    (bin_dir / "docker").write_text('#!/bin/bash\necho "docker $* $(date +%s.%N)" >>"$CALLS"\nexit 1\n')
    (bin_dir / "docker").chmod(0o755)
    holder = subprocess.Popen(["flock", str(locks / f"{lock}.lock"), "sleep", "2"])
    time.sleep(0.3)
    started = time.monotonic()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls"), "FLINK_SWARM_LOCKS": str(locks),
           "FLINK_SWARM_WEAVE_RECORD": str(tmp_path / "weave-record")}
    subprocess.run(["bash", str(SCRIPTS / f"{step}.sh"), "x:1@sha256:" + "d" * 64, "172.30.0.0/16", "1376"],
                   input="pw\n", env=env, capture_output=True, text=True, timeout=60)
    holder.wait()
    first_call = float((tmp_path / "calls").read_text().split()[-1])
    assert first_call >= time.time() - (time.monotonic() - started) + 1.5  # docker ran only once the lock was free
