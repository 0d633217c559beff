"""A host script on a blank test VM, where a real cloud VM differs from a warm one: apt's locks.

On a first boot, apt-daily often holds apt's lists lock right after cloud-init; `apt-get update`
takes that lock without waiting (apt apt-pkg/acquire.cc GetLock) and fails at once. The program's
docker-install.sh must wait for it, bounded, and say so; then install Docker and hold the package.
"""
import shlex
import subprocess
import time

import pytest

from components.steps import script_text
from tests.e2e import hosts, ssh
from tests.e2e.proc import TIMINGS, wait

pytestmark = pytest.mark.e2e

# Holds apt's lists lock as apt does (an fcntl lock) for a while, then lets go.
HOLD_LOCK = ("import fcntl, sys, time; f = open('/var/lib/apt/lists/lock', 'w'); "
             "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(float(sys.argv[1]))")


@pytest.fixture(scope="module")
def vm():
    with hosts.lab() as images:
        vms = hosts.Vms(images["vm"], hosts.new_key())
        address = vms.address("blank-ip")
        vms.start_vm("blank-vm", address, "ubuntu", vms.key_file.with_suffix(".pub").read_text().strip())
        host = vms.host(address)
        wait("the blank VM answering SSH", lambda: hosts.run_ssh(host, "true", timeout=10)[0] == 0, 60)
        yield host


def test_docker_install_waits_for_apts_lists_lock_then_installs_and_holds(vm):
    holder = subprocess.Popen(
        ssh.argv(vm.user, vm.ip, vm.port, vm.key_file, f"sudo python3 -c {shlex.quote(HOLD_LOCK)} 12"),
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        script = script_text("docker-install")  # its libraries included, as the step sends it
        started = time.monotonic()  # as the program runs the step: sudo bash -c '<script>' name args
        rc, out, err = hosts.run_ssh(vm, f"sudo -n bash -c {shlex.quote(script)} docker-install docker.io - ubuntu -",
                                     timeout=400)
        took = time.monotonic() - started
    finally:
        holder.wait(timeout=60)
    TIMINGS["docker install on a blank VM, apt's lists locked for 12 s"] = took
    assert rc == 0, err
    assert "apt's package lists are locked by another process" in err and took >= 10
    assert hosts.run_ssh(vm, "apt-mark showhold")[1].split() == ["docker.io"]  # a node added later gets the same
    assert hosts.run_ssh(vm, "docker info --format '{{.ServerVersion}}'")[0] == 0
    again = hosts.run_ssh(vm, f"sudo -n bash -c {shlex.quote(script)} docker-install docker.io - ubuntu -")
    assert again[0] == 0 and again[2] == ""  # idempotent: nothing to do, nothing said
