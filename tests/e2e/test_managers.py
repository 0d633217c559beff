"""Three managers on real hosts, through the real `pulumi` CLI: the program keeps working while the
first manager is down, and changing the managers keeps the swarm's quorum.

The VMs are blank test hosts, as in test_day_two.py (its VmStack: the stand-ins' mode `vms`): three
Azure managers, the jobmanager's node, and workers on both clouds. Each scenario prints its plan and its
time.
"""
import time

import pytest

from tests.e2e import flink_rest, hosts
from tests.e2e.proc import TIMINGS, wait
from tests.e2e.vmstack import VmStack, vm_containers

pytestmark = pytest.mark.e2e

MANAGERS = ["ha-mgr-1", "ha-mgr-2", "ha-mgr-3"]
NODE_STEP = ("-join", "-docker", "-pull", "-vm", "-ip", "-nic", "-host-key")
FLINK = {"flink-net", "zookeeper", "jobmanager", "taskmanager"}
# Flink's SQL gateway off: it is proven end to end in test_static.py (`flink-swarm sql`) and test_local.py
# (published, serving when `up` returns), its day-two update in test_day_two.py; here it would only add a
# JVM to wait for at every start of Flink (flink-serving waits for it to answer).
FLINK_SETTINGS = {"sqlGateway": False}


class Cluster(VmStack):
    def up(self, scenario: str, managers: int = 3, workers: int = 1, **settings):
        nodes = [{"name": "ha-mgr", "cloud": "azure", "role": "manager", "count": managers},
                 {"name": "ha-jobmanager", "cloud": "azure", "role": "jobmanager"},
                 {"name": "ha-worker", "cloud": "azure", "role": "worker", "count": workers},
                 {"name": "ha-gcp", "cloud": "gcp", "role": "worker", "count": 1}]
        return super().up(scenario, nodes, flink={"taskSlots": settings.pop("slots", 2), **FLINK_SETTINGS}, **settings)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with hosts.lab() as images:
        # 20 dials wait about 60 s for sshd: waits from 0.1 s growing 1.5x to 5 s (pulumi-command v1.2.1
        # provider/pkg/provider/connection.go:150-202, as tests/plugins/providers/command.py dials). Six VMs
        # booting at once on two busy cores took longer than the 11 s of 10 dials in CI.
        yield Cluster(tmp_path_factory.mktemp("managers"), "managers", images["vm"],
                      ssh={"dialAttempts": 20, "dialTimeoutSeconds": 3})


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
    wait("3 taskmanagers with 3 slots registered", lambda: sorted(
        tm["slotsNumber"] for tm in flink_rest.wait_taskmanagers(cluster.rest, 3)) == [3, 3, 3], 240, interval=3)


def test_the_first_manager_comes_back_and_nothing_changes(cluster):
    hosts.run("docker", "start", cluster.container("ha-mgr-1"))
    started = time.monotonic()
    wait("ha-mgr-1 reachable again", lambda: managers_of(cluster.swarm(on="ha-mgr-2")).get(
        "ha-mgr-1", {}).get("Reachability") == "reachable", 120, interval=2)
    TIMINGS["managers: the first manager reachable again"] = time.monotonic() - started
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
    plan = cluster.destroy("destroy")
    assert cluster.project.resources() == {} and plan.error == "" and vm_containers() == []
