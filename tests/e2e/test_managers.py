"""Three managers on real hosts, through the stateful engine: the program keeps working while the
first manager is down, and changing the managers keeps the swarm's quorum.

The VMs are blank test hosts, as in test_day_two.py: three Azure managers, the jobmanager's node,
and workers on both clouds. Each scenario prints its plan and its time.
"""
import json
import time

import pytest
import yaml

from tests.e2e import flink_rest, hosts
from tests.e2e.proc import PLANS, TIMINGS
from tests.engine import Engine
from tests.engine.registries import host_registry

pytestmark = pytest.mark.e2e

MANAGERS = ["ha-mgr-1", "ha-mgr-2", "ha-mgr-3"]
NODE_STEP = ("-join", "-docker", "-pull", "-vm", "-ip", "-nic", "-host-key")
FLINK = {"flink-net", "zookeeper", "jobmanager", "taskmanager"}


class Cluster:
    def __init__(self, engine: Engine, vms: hosts.Vms, workdir):
        self.engine, self.vms, self.workdir = engine, vms, workdir

    def up(self, scenario: str, managers: int = 3, workers: int = 1, **settings):
        nodes = [{"name": "ha-mgr", "cloud": "azure", "role": "manager", "count": managers},
                 {"name": "ha-jobmanager", "cloud": "azure", "role": "jobmanager"},
                 {"name": "ha-worker", "cloud": "azure", "role": "worker", "count": workers},
                 {"name": "ha-gcp", "cloud": "gcp", "role": "worker", "count": 1}]
        topology = self.workdir / f"topology-{managers}-{workers}.yaml"
        topology.write_text(yaml.safe_dump({"nodes": nodes}))
        config = {
            "azure-native:location": "westeurope", "gcp:project": "lab", "gcp:zone": "europe-west1-b",
            "flink-swarm:topology": str(topology), "flink-swarm:adminCidrs": [hosts.SUBNET],
            "flink-swarm:sshPublicKey": self.vms.key_file.with_suffix(".pub").read_text().strip(),
            "flink-swarm:sshPrivateKey": self.vms.key_file.read_text(),
            "flink-swarm:dockerInstall": "docker.io",
            "flink-swarm:network": {"driver": "overlay", "encrypted": False},
            "flink-swarm:flink": {"image": hosts.FLINK_IMAGE, "taskSlots": settings.pop("slots", 2),
                                  "jobmanagerMemory": "1024m", "taskmanagerMemory": "1280m"},
            # 20 dials wait about 60 s for sshd: waits from 0.1 s growing 1.5x to 5 s (pulumi-command v1.2.1
            # provider/pkg/provider/connection.go:150-202, as tests/engine/providers/command.py dials). Six VMs
            # booting at once on two busy cores took longer than the 11 s of 10 dials in CI.
            "flink-swarm:ssh": {"dialAttempts": 20, "dialTimeoutSeconds": 3},
            **{f"flink-swarm:{k}": v for k, v in settings.items()},
        }
        PLANS.append(f"=== managers: {scenario}")
        started = time.monotonic()
        plan = self.engine.up(config, secrets=["flink-swarm:sshPrivateKey"])
        TIMINGS[f"managers: {scenario}"] = time.monotonic() - started
        return plan

    def container(self, node: str) -> str:
        return self.vms.by_address[self.vms.address(f"{node}-ip")]

    def swarm(self, on: str) -> dict[str, dict]:
        """hostname -> `docker node inspect`, read on the manager `on`."""
        host = self.vms.host(self.vms.address(f"{on}-ip"))
        rc, out, err = hosts.run_ssh(host, "docker node inspect $(docker node ls -q)")
        assert rc == 0, err
        return {n["Description"]["Hostname"]: n for n in json.loads(out)}

    @property
    def rest(self) -> str:
        return self.engine.last_run.outputs["flinkUiUrl"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    images = hosts.start_lab()
    vms = hosts.Vms(images["vm"], hosts.new_key())
    registry, _, _ = host_registry(vms.address, vms)
    workdir = tmp_path_factory.mktemp("managers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLINK_SWARM_KEY_DIR", str(workdir / "keys"))
        try:
            yield Cluster(Engine(registry, stack="e2e-managers", log=PLANS.append), vms, workdir)
        finally:
            hosts.teardown()


def managers_of(nodes: dict[str, dict]) -> dict[str, dict]:
    return {h: n["ManagerStatus"] for h, n in nodes.items() if n.get("ManagerStatus")}


def test_three_managers_one_leader(cluster):
    cluster.up("first up")
    nodes = cluster.swarm(on="ha-mgr-1")
    assert all(n["Status"]["State"] == "ready" for n in nodes.values()) and len(nodes) == 6
    managers = managers_of(nodes)
    assert sorted(managers) == MANAGERS and sum(bool(m.get("Leader")) for m in managers.values()) == 1
    assert {m["Reachability"] for m in managers.values()} == {"reachable"}
    assert len(flink_rest.wait_taskmanagers(cluster.rest, 2)) == 2


def test_with_the_first_manager_down_control_moves_and_changes_go_through(cluster):
    hosts.run("docker", "stop", "--time", "5", cluster.container("ha-mgr-1"))
    plan = cluster.up("first manager down: control moved, a worker added, slots changed",
                      workers=2, slots=3, controlManager="ha-mgr-2")
    changed = plan.changed()
    new = "ha-worker-2"
    assert not [n for n, op in changed.items() if n.endswith(NODE_STEP) and not n.startswith(new)], changed
    assert changed.get("flink-net") is None and changed["taskmanager"] == "update"  # in place, rolling
    assert changed["manager"] == "update" and changed[f"{new}-join"] == "create"
    assert plan.error == ""
    nodes = cluster.swarm(on="ha-mgr-2")
    # a new leader reports a node it has not heard from yet as "unknown", then "down" (moby
    # api/types/swarm/node.go:123-126)
    assert nodes[new]["Status"]["State"] == "ready" and nodes["ha-mgr-1"]["Status"]["State"] in ("down", "unknown")
    deadline = time.monotonic() + 240
    while sorted(tm["slotsNumber"] for tm in flink_rest.wait_taskmanagers(cluster.rest, 3)) != [3, 3, 3]:
        assert time.monotonic() < deadline, "3 taskmanagers with 3 slots never registered"
        time.sleep(3)


def test_the_first_manager_comes_back_and_nothing_changes(cluster):
    hosts.run("docker", "start", cluster.container("ha-mgr-1"))
    deadline = time.monotonic() + 120
    while managers_of(cluster.swarm(on="ha-mgr-2")).get("ha-mgr-1", {}).get("Reachability") != "reachable":
        assert time.monotonic() < deadline, "ha-mgr-1 never became reachable again"
        time.sleep(2)
    TIMINGS["managers: the first manager reachable again"] = time.monotonic() - deadline + 120
    plan = cluster.up("first manager back", workers=2, slots=3, controlManager="ha-mgr-2")
    assert plan.changed() == {}


def test_a_manager_removed_is_demoted_removed_and_leaves_keeping_quorum(cluster):
    plan = cluster.up("a manager removed", managers=2, workers=2, slots=3, controlManager="ha-mgr-2")
    assert {"ha-mgr-3-member", "ha-mgr-3-join", "ha-mgr-3-vm"} <= plan.names("delete")
    assert not [n for n in plan.changed() if n in FLINK]
    nodes = cluster.swarm(on="ha-mgr-2")  # answering at all: the swarm kept its quorum
    assert "ha-mgr-3" not in nodes and all(n["Status"]["State"] == "ready" for n in nodes.values())
    managers = managers_of(nodes)
    assert sorted(managers) == ["ha-mgr-1", "ha-mgr-2"] and sum(bool(m.get("Leader")) for m in managers.values()) == 1
    assert len(flink_rest.wait_taskmanagers(cluster.rest, 3)) == 3


def test_destroy(cluster):
    PLANS.append("=== managers: destroy")
    plan = cluster.engine.destroy()
    assert cluster.engine.snapshot == [] and plan.error == "" and cluster.vms.by_address == {}
