"""Day two on real hosts: every later `pulumi up` and `pulumi destroy`, through the stateful engine.

The program runs with Azure and Google Cloud nodes; under the engine their VMs are blank test hosts
(no Docker: the program's own docker-install.sh installs Debian's docker.io) at the addresses of
their static IPs, created, replaced and deleted as the plan says. Remote commands run over SSH, the
docker network and services go through the manager's Engine API and are read back as pulumi-docker
reads them back. One cluster serves every scenario, in order; each prints its plan and its time.
"""
import json
import time

import pytest
import yaml

from tests.e2e import flink_rest, hosts
from tests.e2e.proc import PLANS, TIMINGS
from tests.engine import Engine, UpFailed
from tests.engine.registries import host_registry
from tests.harness import edit_script

pytestmark = pytest.mark.e2e

MANAGER, JOBMANAGER, AZURE_WORKER, GCP_WORKER = "lab-manager", "lab-jobmanager", "lab-worker", "gcp-worker-1"
NODE_STEPS = ("docker", "join", "pull", "member")  # overlay: no -weave step
VM_RESOURCES = {"azure": ("ip", "nic", "vm", "host-key"), "gcp": ("ip", "vm", "host-key")}
NEW_FLINK = {"image": hosts.FLINK_IMAGE_RETAGGED, "taskSlots": 3}
FIREWALL = {"nsg", *(f"fw-{rule}" for rule in ("swarm-management", "swarm-gossip-tcp", "swarm-gossip-udp",
                                               "overlay-vxlan", "flink-jobmanager", "flink-taskmanager"))}


class Lab:
    """The engine's stack on blank VMs; `up()` writes the topology and config and times the run."""

    def __init__(self, engine: Engine, vms: hosts.Vms, commands, workdir):
        self.engine, self.vms, self.commands, self.workdir = engine, vms, commands, workdir
        self.public_key = (vms.key_file.with_suffix(".pub")).read_text().strip()

    def config(self, azure_workers: int, **settings) -> dict:
        nodes = [{"name": MANAGER, "cloud": "azure", "role": "manager"},
                 {"name": JOBMANAGER, "cloud": "azure", "role": "jobmanager"},
                 {"name": AZURE_WORKER, "cloud": "azure", "role": "worker", "count": azure_workers},
                 {"name": "gcp-worker", "cloud": "gcp", "role": "worker", "count": 1}]
        topology = self.workdir / f"topology-{azure_workers}.yaml"
        topology.write_text(yaml.safe_dump({"nodes": nodes}))
        return {
            "azure-native:location": "westeurope", "gcp:project": "lab", "gcp:zone": "europe-west1-b",
            "flink-swarm:topology": str(topology), "flink-swarm:adminCidrs": [hosts.SUBNET],
            "flink-swarm:sshPublicKey": self.public_key,
            "flink-swarm:sshPrivateKey": self.vms.key_file.read_text(),
            "flink-swarm:dockerInstall": "docker.io",
            "flink-swarm:network": {"driver": "overlay", "encrypted": False},
            "flink-swarm:flink": {"image": hosts.FLINK_IMAGE, "taskSlots": 2, "jobmanagerMemory": "1024m",
                                  "taskmanagerMemory": "1280m", **settings.pop("flink", {})},
            "flink-swarm:ssh": {"dialAttempts": 10, "dialTimeoutSeconds": 3},
            **{f"flink-swarm:{k}": v for k, v in settings.items()},
        }

    def up(self, scenario: str, azure_workers: int = 1, replace=(), **settings):
        PLANS.append(f"=== day two: {scenario}")
        started = time.monotonic()
        plan = self.engine.up(self.config(azure_workers, **settings), secrets=["flink-swarm:sshPrivateKey"],
                              replace=replace)
        TIMINGS[f"day two: {scenario}"] = time.monotonic() - started
        return plan

    def destroy(self, scenario: str):
        PLANS.append(f"=== day two: {scenario}")
        started = time.monotonic()
        try:
            return self.engine.destroy()
        finally:
            TIMINGS[f"day two: {scenario}"] = time.monotonic() - started

    @property
    def rest(self) -> str:
        return self.engine.last_run.outputs["flinkUiUrl"]

    def address(self, node: str) -> str:
        return self.vms.address(f"{node}-ip")

    def ssh(self, node: str, command: str) -> str:
        rc, out, err = hosts.run_ssh(self.vms.host(self.address(node)), command)
        assert rc == 0, f"{node}: {command}: {err}"
        return out

    def swarm(self) -> dict[str, dict]:
        """hostname -> `docker node inspect`, read on the manager."""
        ids = self.ssh(MANAGER, "docker node ls -q").split()
        return {n["Description"]["Hostname"]: n
                for n in json.loads(self.ssh(MANAGER, "docker node inspect " + " ".join(ids)))}


def taskmanager_mtu(lab: Lab, node: str) -> str:
    """The MTU of the overlay interface in the node's running taskmanager (a task may be restarting: retried)."""
    command = ("task=$(docker ps -q --filter label=com.docker.swarm.service.name=taskmanager --filter status=running"
               " | head -n 1) && docker exec \"$task\" cat /sys/class/net/eth0/mtu")
    deadline = time.monotonic() + 60
    while True:
        rc, out, err = hosts.run_ssh(lab.vms.host(lab.address(node)), command)
        if rc == 0:
            return out.strip()
        assert time.monotonic() < deadline, f"{node}: no running taskmanager to read its MTU: {err}"
        time.sleep(2)


def node_steps(node: str, cloud: str = "azure") -> set[str]:
    return {f"{node}-{s}" for s in NODE_STEPS} | {f"{node}-{r}" for r in VM_RESOURCES[cloud]}


def workers(lab: Lab) -> list[str]:
    return sorted(h for h, n in lab.swarm().items() if n["Spec"]["Labels"].get("role") == "worker")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    images = hosts.start_lab()
    vms = hosts.Vms(images["vm"], hosts.new_key())
    registry, commands, _ = host_registry(vms.address, vms)
    workdir = tmp_path_factory.mktemp("day-two")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLINK_SWARM_KEY_DIR", str(workdir / "keys"))
        try:
            yield Lab(Engine(registry, stack="e2e-day-two", log=PLANS.append), vms, commands, workdir)
        finally:
            hosts.teardown()


@pytest.fixture(scope="module")
def ticker(lab, ticker_jar):
    """An unbounded job, started once the first `up` made the cluster (the first test)."""
    with hosts.ProcessWatch() as watch:  # what any user of a VM could see with `ps` meanwhile
        lab.up("first up")
    lab.ps = watch
    flink_rest.wait_taskmanagers(lab.rest, 2)
    return flink_rest.run_jar(lab.rest, ticker_jar)


def test_the_first_up_bootstraps_blank_vms(lab, ticker):
    plan = lab.engine.last_plan
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
    assert plan.changed() == {}, plan.render()  # the network and services read back as written
    assert flink_rest.job(lab.rest, ticker) == before and before["state"] == "RUNNING"


def test_a_worker_added_joins_with_its_labels_and_jobs_run_on(lab, ticker):
    before = flink_rest.job(lab.rest, ticker)
    plan = lab.up("worker added", azure_workers=2)
    new = f"{AZURE_WORKER}-2"
    assert plan.changed() == {**{r: "create" for r in node_steps(new)}, **{r: "update" for r in FIREWALL},
                              "swarm-labels": "update"}
    node = lab.swarm()[new]
    assert node["Status"]["State"] == "ready" and node["Spec"]["Labels"] == {
        "role": "worker", "cloud": "azure", "name": new}
    assert len(flink_rest.wait_taskmanagers(lab.rest, 3)) == 3
    assert flink_rest.job(lab.rest, ticker) == before


def test_a_worker_removed_is_drained_removed_and_leaves(lab, ticker):
    gone = f"{AZURE_WORKER}-2"
    plan = lab.up("worker removed", azure_workers=1)
    assert plan.names("delete") == node_steps(gone)
    assert set(plan.changed()) == node_steps(gone) | FIREWALL | {"swarm-labels"}
    ran = [(name, op) for name, op, _ in lab.commands.ran]
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
                              "swarm-labels": "update"}  # labels the new node
    assert lab.ssh(GCP_WORKER, "test -e /etc/old-vm && echo old || echo blank").strip() == "blank"
    nodes = lab.swarm()
    assert nodes[GCP_WORKER]["ID"] != old_id and nodes[GCP_WORKER]["Status"]["State"] == "ready"
    assert old_id not in {n["ID"] for n in nodes.values()} and len(nodes) == 4  # the old entry is gone
    assert len(flink_rest.wait_taskmanagers(lab.rest, 2, exactly=True)) == 2


def test_a_flink_change_updates_only_the_services_rolling(lab, ticker):
    plan = lab.up("image tag and slots changed", flink=NEW_FLINK)
    pulls = {f"{n}-pull" for n in (JOBMANAGER, f"{AZURE_WORKER}-1", GCP_WORKER)}
    assert plan.changed() == {"jobmanager": "update", "taskmanager": "update", "zookeeper": "update",
                              **{p: "update" for p in pulls}}
    service = json.loads(lab.ssh(MANAGER, "docker service inspect taskmanager"))[0]
    assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(hosts.FLINK_IMAGE_RETAGGED + "@sha256:")
    assert service["UpdateStatus"]["State"] in ("updating", "completed")  # rolled, not replaced
    deadline = time.monotonic() + 240
    while {tm["slotsNumber"] for tm in flink_rest.wait_taskmanagers(lab.rest, 2)} != {3}:
        assert time.monotonic() < deadline, "the taskmanagers never came back with 3 slots"
        time.sleep(3)
    assert flink_rest.wait_recovered(lab.rest, ticker)["state"] == "RUNNING"  # the new jobmanager recovered it
    assert lab.up("Flink change, again", flink=NEW_FLINK).changed() == {}


def test_an_edited_script_updates_exactly_its_commands(lab, tmp_path, monkeypatch):
    edit_script(monkeypatch, tmp_path / "scripts", "node-labels.sh")
    lab.commands.ran.clear()
    plan = lab.up("script edited", flink=NEW_FLINK)
    assert plan.changed() == {"swarm-labels": "update"}
    assert [(name, op) for name, op, _ in lab.commands.ran] == [("swarm-labels", "update")]
    monkeypatch.undo()
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
    down = lab.vms.by_address[lab.address(GCP_WORKER)]
    hosts.run("docker", "stop", "--time", "5", down)
    with pytest.raises(UpFailed) as failed:
        lab.destroy("destroy with a worker down")
    took = TIMINGS["day two: destroy with a worker down"]
    assert f"{GCP_WORKER}-join" in str(failed.value) and "failed attempts" in str(failed.value)
    assert "SWMTKN" not in str(failed.value) and "PRIVATE KEY" not in str(failed.value)  # no secret in errors
    assert took < 120, f"destroy took {took:.0f}s to fail"
    hosts.run("docker", "start", down)  # the README's recovery: bring the host back, destroy again
    plan = lab.destroy("destroy again")
    assert lab.engine.snapshot == [] and plan.error == ""
    assert lab.vms.by_address == {}  # every VM is gone; each left the swarm first (the plan's order)
    assert hosts.run("docker", "ps", "-aq", "--filter", f"name={hosts.NETWORK}-lab") == ""
