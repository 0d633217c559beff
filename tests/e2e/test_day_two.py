"""Day two on real hosts: every later `pulumi up` and `pulumi destroy`, through the real `pulumi` CLI.

The program runs with Azure and Google Cloud nodes; the stand-in plugins (tests/plugins, mode `vms`)
make their VMs blank test hosts (no Docker: the program's own docker-install.sh installs Debian's
docker.io) at the addresses of their static IPs, created, replaced and deleted as the real engine's plan
says. Remote commands run over SSH, the docker network and services go through the manager's Engine API
and are read back as pulumi-docker reads them back. One cluster serves every scenario, in order; each
prints its plan and its time.
"""
import json

import pytest

from tests.cli import Plan
from tests.e2e import flink_rest, hosts
from tests.e2e.proc import TIMINGS, wait
from tests.e2e.vmstack import VmStack, vm_containers

pytestmark = pytest.mark.e2e

MANAGER, JOBMANAGER, AZURE_WORKER, GCP_WORKER = "lab-manager", "lab-jobmanager", "lab-worker", "gcp-worker-1"
NODE_STEPS = ("docker", "join", "pull", "member")  # overlay: no -weave step
VM_RESOURCES = {"azure": ("ip", "nic", "vm", "host-key"), "gcp": ("ip", "vm", "host-key")}
NEW_FLINK = {"image": hosts.FLINK_IMAGE_RETAGGED, "taskSlots": 3}
# `up` returns when Flink serves: these run again whenever a service or a Flink node changes
READY = {f"{JOBMANAGER}-flink-ready": "update", f"{JOBMANAGER}-flink-serving": "update"}
FIREWALL = {"nsg", *(f"fw-{rule}" for rule in ("swarm-management", "swarm-gossip-tcp", "swarm-gossip-udp",
                                               "overlay-vxlan", "flink-jobmanager", "flink-taskmanager"))}


class Lab(VmStack):
    """The day-two stack: `up()` with the azure workers' count and settings."""

    def up(self, scenario: str, azure_workers: int = 1, replace=(), check: bool = True, **settings) -> Plan:
        nodes = [{"name": MANAGER, "cloud": "azure", "role": "manager"},
                 {"name": JOBMANAGER, "cloud": "azure", "role": "jobmanager"},
                 {"name": AZURE_WORKER, "cloud": "azure", "role": "worker", "count": azure_workers},
                 {"name": "gcp-worker", "cloud": "gcp", "role": "worker", "count": 1}]
        return super().up(scenario, nodes, replace, check=check, **settings)

    def swarm(self, on: str = MANAGER) -> dict[str, dict]:
        return super().swarm(on)


def taskmanager_mtu(lab: Lab, node: str) -> str:
    """The MTU of the overlay interface in the node's running taskmanager (a task may be restarting: retried)."""
    command = ("task=$(docker ps -q --filter label=com.docker.swarm.service.name=taskmanager --filter status=running"
               " | head -n 1) && docker exec \"$task\" cat /sys/class/net/eth0/mtu")
    failed = [""]  # the last attempt's error

    def mtu() -> str | None:
        rc, out, failed[0] = hosts.run_ssh(lab.host(node), command)
        return out.strip() if rc == 0 else None
    return wait(f"{node}: a running taskmanager to read its MTU", mtu, 60, lambda: failed[0], interval=2)


def node_steps(node: str, cloud: str = "azure") -> set[str]:
    return {f"{node}-{s}" for s in NODE_STEPS} | {f"{node}-{r}" for r in VM_RESOURCES[cloud]}


def workers(lab: Lab) -> list[str]:
    return sorted(h for h, n in lab.swarm().items() if n["Spec"]["Labels"].get("role") == "worker")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with hosts.lab() as images:
        yield Lab(tmp_path_factory.mktemp("day-two"), "day two", images["vm"],
                  ssh={"dialAttempts": 10, "dialTimeoutSeconds": 3})


@pytest.fixture(scope="module")
def ticker(lab, ticker_jar):
    """An unbounded job, started once the first `up` made the cluster (the first test)."""
    with hosts.ProcessWatch() as watch:  # what any user of a VM could see with `ps` meanwhile
        lab.up("first up")
    lab.ps = watch
    flink_rest.wait_taskmanagers(lab.rest, 2)
    return flink_rest.run_jar(lab.rest, ticker_jar)


def test_the_first_up_bootstraps_blank_vms(lab, ticker):
    plan = lab.last_plan
    assert plan.counts()["create"] == len(plan.logical()) and plan.error == ""
    tokens = lab.ssh(MANAGER, "docker swarm join-token -q worker; docker swarm join-token -q manager").split()
    assert len(tokens) == 2 and lab.ps.samples > 20
    assert [lab.ps.seen(token) for token in tokens] == [[], []]  # no join token on any command line
    nodes = lab.swarm()
    assert sorted(nodes) == sorted([MANAGER, JOBMANAGER, f"{AZURE_WORKER}-1", GCP_WORKER])
    for hostname, node in nodes.items():
        assert node["Status"]["State"] == "ready" and node["Status"]["Addr"] == lab.address(hostname)
        assert node["Spec"]["Labels"]["name"] == hostname
    assert len(flink_rest.wait_taskmanagers(lab.rest, 2)) == 2
    assert flink_rest.wait_running(lab.rest, ticker)["restarts"] == 0
    assert lab.ssh(GCP_WORKER, "apt-mark showhold").split() == ["docker.io"]  # held: a later node gets the same
    for node in nodes:  # the boot (cloud-init's final stage, first-boot.sh) installed Docker and fetched the image
        boot = lab.ssh(node, "cat /run/cloud-init/result; cat /var/log/cloud-init-output.log")
        assert boot.startswith("0\n") and "docker-install: installing docker.io" in boot, boot
        assert ("in the background" in boot) == (node != MANAGER), boot
        fetched = "test ! -e /run/flink-swarm/fetch.log" if node == MANAGER else \
            "sudo flock -w 60 /run/flink-swarm/image.lock cat /run/flink-swarm/fetch.log"
        assert lab.ssh(node, fetched).strip() == ("" if node == MANAGER else hosts.FLINK_IMAGE)
    # the overlay takes the hosts' MTU (1460, as on GCP) and gives containers 1460 - 50 (VXLAN)
    assert taskmanager_mtu(lab, GCP_WORKER) == "1410"


def test_a_second_up_changes_nothing_and_jobs_run_on(lab, ticker):
    before = flink_rest.job(lab.rest, ticker)
    plan = lab.up("second up")
    assert plan.changed() == {}  # the network and services read back as written
    assert flink_rest.job(lab.rest, ticker) == before and before["state"] == "RUNNING"


def test_a_worker_added_joins_with_its_labels_and_jobs_run_on(lab, ticker):
    before = flink_rest.job(lab.rest, ticker)
    plan = lab.up("worker added", azure_workers=2)
    new = f"{AZURE_WORKER}-2"
    assert plan.changed() == {**{r: "create" for r in node_steps(new)}, **{r: "update" for r in FIREWALL},
                              "swarm-labels": "update", **READY}
    node = lab.swarm()[new]
    assert node["Status"]["State"] == "ready" and node["Spec"]["Labels"] == {
        "role": "worker", "cloud": "azure", "name": new}
    assert len(flink_rest.wait_taskmanagers(lab.rest, 3)) == 3
    assert flink_rest.job(lab.rest, ticker) == before


def test_a_worker_removed_is_drained_removed_and_leaves(lab, ticker):
    gone = f"{AZURE_WORKER}-2"
    plan = lab.up("worker removed", azure_workers=1)
    assert plan.names("delete") == node_steps(gone)
    assert set(plan.changed()) == node_steps(gone) | FIREWALL | {"swarm-labels", *READY}
    ran = plan.ran()
    assert ran.index((f"{gone}-member", "delete")) < ran.index((f"{gone}-join", "delete"))
    nodes = lab.swarm()
    assert gone not in nodes and all(n["Status"]["State"] == "ready" for n in nodes.values())  # no Down node
    assert len(flink_rest.wait_taskmanagers(lab.rest, 2, exactly=True)) == 2


def test_a_replaced_vm_comes_back_blank_and_rejoins(lab):
    old_id = lab.swarm()[GCP_WORKER]["ID"]
    lab.ssh(GCP_WORKER, "sudo touch /etc/old-vm")
    plan = lab.up("VM replaced", replace=[f"{GCP_WORKER}-vm"])
    kept = {f"{GCP_WORKER}-ip", f"{GCP_WORKER}-host-key"}  # the same address and host key
    assert plan.changed() == {**{r: "replace" for r in node_steps(GCP_WORKER, "gcp") - kept},
                              "swarm-labels": "update", **READY}  # labels the new node
    assert lab.ssh(GCP_WORKER, "test -e /etc/old-vm && echo old || echo blank").strip() == "blank"
    nodes = lab.swarm()
    assert nodes[GCP_WORKER]["ID"] != old_id and nodes[GCP_WORKER]["Status"]["State"] == "ready"
    assert old_id not in {n["ID"] for n in nodes.values()} and len(nodes) == 4  # the old entry is gone
    assert len(flink_rest.wait_taskmanagers(lab.rest, 2, exactly=True)) == 2


def test_a_flink_change_updates_only_the_services_rolling(lab, ticker):
    plan = lab.up("image tag and slots changed", flink=NEW_FLINK)
    pulls = {f"{n}-pull" for n in (JOBMANAGER, f"{AZURE_WORKER}-1", GCP_WORKER)}
    assert plan.changed() == {"jobmanager": "update", "taskmanager": "update", "zookeeper": "update",
                              "sql-gateway": "update", **{p: "update" for p in pulls}, **READY}
    service = json.loads(lab.ssh(MANAGER, "docker service inspect taskmanager"))[0]
    assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(hosts.FLINK_IMAGE_RETAGGED + "@sha256:")
    assert service["UpdateStatus"]["State"] in ("updating", "completed")  # rolled, not replaced
    wait("the taskmanagers back with 3 slots",
         lambda: {tm["slotsNumber"] for tm in flink_rest.wait_taskmanagers(lab.rest, 2)} == {3}, 240, interval=3)
    assert flink_rest.wait_recovered(lab.rest, ticker)["state"] == "RUNNING"  # the new jobmanager recovered it
    assert lab.up("Flink change, again", flink=NEW_FLINK).changed() == {}


def test_a_setting_that_breaks_the_taskmanagers_fails_the_up_naming_them_and_flinks_error(lab, ticker):
    """A heap larger than the taskmanagers' process: Flink refuses its memory configuration as a
    taskmanager starts (the jobmanager does not read it). Swarm rolls the taskmanagers' update back, and
    `up` fails within its bound, naming the service and Flink's own error; the setting reverted, Flink
    serves again and the job runs on."""
    scenario = "a setting breaks the taskmanagers"
    broken = {**NEW_FLINK, "settings": {"taskmanager.memory.task.heap.size": "8g"}}
    plan = lab.up(scenario, flink=broken, check=False)
    assert f"{JOBMANAGER}-flink-ready" in plan.error and "taskmanager: its update failed" in plan.error, plan.error
    assert "non-zero exit" in plan.error  # the task's error, from docker service ps
    assert "IllegalConfigurationException" in plan.error  # Flink's own, from the failed task's log
    assert TIMINGS[f"day two: {scenario}"] < 240, "the step waited for the bound instead of seeing the rollback"
    plan = lab.up("the setting reverted", flink=NEW_FLINK)
    assert {"jobmanager", "taskmanager"} <= set(plan.changed()) and plan.error == ""
    assert flink_rest.wait_recovered(lab.rest, ticker)["state"] == "RUNNING"


def test_an_edited_script_updates_exactly_its_commands(lab):
    script = lab.project.dir / "components" / "scripts" / "node-labels.sh"  # the stack's copy of the program
    original = script.read_text()
    try:
        script.write_text(original + "# edited\n")
        plan = lab.up("script edited", flink=NEW_FLINK)
    finally:
        script.write_text(original)
    assert plan.changed() == {"swarm-labels": "update"}
    assert plan.ran() == [("swarm-labels", "update")]
    assert lab.up("script restored", flink=NEW_FLINK).changed() == {"swarm-labels": "update"}


def test_the_only_manager_replaced_rebuilds_the_swarm_and_flink(lab, ticker):
    plan = lab.up("first manager replaced", replace=[f"{MANAGER}-vm"], flink=NEW_FLINK)
    replaced = plan.names("replace")
    assert {f"{MANAGER}-vm", "swarm-init", "flink-net", "jobmanager", "taskmanager", "zookeeper"} <= replaced
    assert {f"{n}-join" for n in (JOBMANAGER, f"{AZURE_WORKER}-1", GCP_WORKER)} <= replaced
    nodes = lab.swarm()
    assert sorted(nodes) == sorted([MANAGER, JOBMANAGER, f"{AZURE_WORKER}-1", GCP_WORKER])
    assert all(n["Status"]["State"] == "ready" for n in nodes.values())
    assert len(flink_rest.wait_taskmanagers(lab.rest, 2, exactly=True)) == 2
    assert flink_rest.wait_recovered(lab.rest, ticker)["state"] == "RUNNING"  # from the jobmanager node's state
    assert lab.up("after the rebuild", flink=NEW_FLINK).changed() == {}


def test_destroy_with_a_worker_down_fails_naming_it_then_finishes(lab):
    down = lab.container(GCP_WORKER)
    hosts.run("docker", "stop", "--time", "5", down)
    failed = lab.destroy("destroy with a worker down", check=False)
    took = TIMINGS["day two: destroy with a worker down"]
    assert f"{GCP_WORKER}-join" in failed.error and "failed attempts" in failed.error, failed.error
    assert "SWMTKN" not in failed.error and "PRIVATE KEY" not in failed.error  # no secret in errors
    assert took < 120, f"destroy took {took:.0f}s to fail"
    hosts.run("docker", "start", down)  # the README's recovery: bring the host back, destroy again
    plan = lab.destroy("destroy again")
    assert lab.project.resources() == {} and plan.error == ""
    assert vm_containers() == []  # every VM is gone; each left the swarm first (the plan's order)
    assert hosts.run("docker", "ps", "-aq", "--filter", f"name={hosts.NETWORK}-lab") == ""
