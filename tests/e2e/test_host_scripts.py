"""A host script on a blank test VM, where a real cloud VM differs from a warm one: apt's locks.

On a first boot, apt-daily often holds apt's lists lock right after cloud-init; `apt-get update`
takes that lock without waiting (apt apt-pkg/acquire.cc GetLock) and fails at once. The program's
docker-install.sh must wait for it, bounded, and say so; then install Docker and hold the package.

Then the metadata guard (lib/metadata-guard.sh, which docker-install.sh applies last): a container on
the VM, on a bridge or a swarm overlay network, cannot reach the cloud's metadata server, 169.254.169.254
(the connection is refused at once by the REJECT in DOCKER-USER), across a Docker restart and a reboot,
while the VM's own route to it is untouched. No metadata server answers in the lab, and nothing to
169.254.169.254 leaves the VM: a DROP in its mangle POSTROUTING, after the filter's FORWARD, catches
what the guard would let through, which would then time out and fail the test.
"""
import re
import shlex
import subprocess
import time

import pytest

from components.steps import script_text
from tests.e2e import hosts, ssh
from tests.e2e.proc import TIMINGS, wait

pytestmark = pytest.mark.e2e
METADATA = "169.254.169.254"  # the clouds' metadata server
BEFORE: dict[str, str] = {}  # the blank VM's route to it, before Docker

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
        BEFORE["route"] = hosts.run_ssh(host, f"ip route get {METADATA}")[1]  # before Docker
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


GUARD_RULE = f"-A DOCKER-USER -d {METADATA}/32 -j REJECT --reject-with icmp-port-unreachable"
PROBE_IMAGE = "flink-swarm-e2e-probe:1"
# A container image of the VM's own bash and timeout (and their libraries): nothing to pull.
MAKE_PROBE = ("files=$(for b in /usr/bin/bash /usr/bin/timeout; do echo \"$b\"; ldd \"$b\" | grep -o '/[^ ]*'; done"
              f" | sort -u); tar -chf - $files 2>/dev/null | docker import - {PROBE_IMAGE} >/dev/null")
# In a container: a TCP connection to the metadata server; prints what happened and how long it took.
CONNECT = (f"s=${{EPOCHREALTIME/./}}; if timeout 10 bash -c 'exec 3<>/dev/tcp/{METADATA}/80' 2>/dev/null; then r=open;"
           " elif [ $? = 124 ]; then r=timeout; else r=refused; fi;"
           " echo \"$r $(( (${EPOCHREALTIME/./} - s) / 1000 ))\"")
BACKSTOP = f"-t mangle -C POSTROUTING -d {METADATA}/32 -j DROP"


def on_vm(vm, cmd: str, timeout: float = 120) -> str:
    rc, out, err = hosts.run_ssh(vm, cmd, timeout=timeout)
    assert rc == 0, f"{cmd}: {err}"
    return out


def guard_rules(vm) -> list[str]:
    """The rules of the VM's DOCKER-USER that name the metadata server."""
    return [r for r in on_vm(vm, "sudo iptables -w -S DOCKER-USER").splitlines() if METADATA in r]


def rejected(vm) -> int:
    """The guard rule's packet counter."""
    out = on_vm(vm, "sudo iptables -w -n -v -x -L DOCKER-USER")
    return sum(int(line.split()[0]) for line in out.splitlines() if "REJECT" in line and METADATA in line)


def connect_from_container(vm, *docker_run_args: str) -> tuple[str, int]:
    """(refused|timeout|open, milliseconds) of a container's TCP connect to the metadata server."""
    on_vm(vm, f"sudo iptables -w {BACKSTOP} 2>/dev/null || sudo iptables -w {BACKSTOP.replace('-C', '-A', 1)}")
    out = on_vm(vm, f"docker run --rm {' '.join(docker_run_args)} {PROBE_IMAGE}"
                    f" /usr/bin/bash -c {shlex.quote(CONNECT)}")
    what, ms = out.split()
    return what, int(ms)


def assert_containers_refused(vm, label: str, *docker_run_args: str) -> None:
    before = rejected(vm)
    what, ms = connect_from_container(vm, *docker_run_args)
    TIMINGS[f"a container's connection to the metadata server refused ({label})"] = ms / 1000
    assert (what, rejected(vm) > before) == ("refused", True), (what, ms)
    # About 1 s: the REJECT's ICMP for the first SYN comes back while connect() still holds its socket,
    # so the kernel notes it as a soft error only (tcp_v4_err); it acts on the one for the SYN sent
    # again after the initial retransmission timeout (1 s). A silent drop would run into the 10 s timeout.
    assert ms < 3000


def test_containers_cannot_reach_the_metadata_server_the_vm_can(vm):
    script = script_text("docker-install")
    install = f"sudo -n bash -c {shlex.quote(script)} docker-install docker.io - ubuntu -"
    on_vm(vm, install, timeout=400)  # installed by the test above: its second run must guard too
    assert guard_rules(vm) == [GUARD_RULE]
    dropin = on_vm(vm, "cat /etc/systemd/system/docker.service.d/flink-swarm-metadata.conf")
    assert f"ExecStartPre=/bin/sh -c 'iptables -w" in dropin and "ExecStartPost=" in dropin
    forward = on_vm(vm, "sudo iptables -w -S FORWARD").splitlines()
    assert forward[1] == "-A FORWARD -j DOCKER-USER", forward  # Docker's jump comes first
    # The VM itself: its route is as it was, and no rule of its own output names the metadata server.
    assert on_vm(vm, f"ip route get {METADATA}") == BEFORE["route"] != ""
    assert METADATA not in on_vm(vm, "sudo iptables -w -S OUTPUT")
    on_vm(vm, MAKE_PROBE)

    assert_containers_refused(vm, "default bridge")
    # A swarm overlay network: its containers go out through docker_gwbridge, forwarded by the host.
    on_vm(vm, f"docker swarm init --advertise-addr {vm.ip} >/dev/null")
    try:
        on_vm(vm, "docker network create -d overlay --attachable fs-probe >/dev/null")
        assert_containers_refused(vm, "swarm overlay", "--network", "fs-probe")
        assert "docker_gwbridge" in on_vm(vm, "docker network ls --format '{{.Name}}'")
    finally:
        on_vm(vm, "docker network rm fs-probe >/dev/null; docker swarm leave --force >/dev/null")

    # Idempotent: the step again adds nothing and says nothing.
    rc, _, err = hosts.run_ssh(vm, install, timeout=400)
    assert (rc, err) == (0, "") and guard_rules(vm) == [GUARD_RULE]

    # Docker restarted: it keeps DOCKER-USER and its rules (no second rule either).
    on_vm(vm, "sudo kill -TERM $(cat /var/run/docker.pid); while [ -e /var/run/docker.pid ]; do sleep 0.2; done;"
              " sudo systemctl start docker;"
              " for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done")
    assert guard_rules(vm) == [GUARD_RULE]
    assert_containers_refused(vm, "after a Docker restart")

    # Rebooted (the test VM is a container: a new network namespace, no rule left; its entrypoint puts it
    # back before dockerd starts, as docker.service's drop-in does on a VM with systemd).
    hosts.stop_host(vm)
    hosts.start_host(vm)
    assert guard_rules(vm) == [GUARD_RULE]
    assert_containers_refused(vm, "after a reboot")
    assert re.fullmatch(r"-A FORWARD -j DOCKER-USER", on_vm(vm, "sudo iptables -w -S FORWARD").splitlines()[1])
