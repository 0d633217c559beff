"""Day two under the stateful engine with providers that reach nothing: every later `up` does the least.

The engine (tests/engine) plans each run as Pulumi's does; here commands and Docker are fakes that
record what would run, so the plans of each kind of change are checked in seconds. The end-to-end
tests (tests/e2e/test_day_two.py) run the same scenarios on real hosts, where Docker reads back what
it stores.
"""
import pytest
import yaml

from components import config
from tests.engine import Engine
from tests.engine.registries import fake_registry
from tests.harness import BASE_CONFIG, ROOT, edit_script

BLOG = yaml.safe_load((ROOT / "config/topologies/blog.yaml").read_text())["nodes"]
WORKER = "azure-swarm-worker-2"
NODE_STEPS = ("docker", "join", "weave", "pull", "member")
RESOURCES = 78  # of the blog topology


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """An engine with fake providers, and `up(workers=2, **config)` on the blog topology."""
    monkeypatch.setenv("FLINK_SWARM_KEY_DIR", str(tmp_path / "keys"))
    registry, commands, clouds = fake_registry()
    engine = Engine(registry, stack="test", log=lambda text: None)

    def up(workers=2, replace=(), **settings):
        nodes = [dict(n) for n in BLOG]
        nodes[2]["count"] = workers
        path = tmp_path / f"topology-{workers}.yaml"
        path.write_text(yaml.safe_dump({"nodes": nodes}))
        cfg = {**BASE_CONFIG, "flink-swarm:topology": str(path),
               **{f"flink-swarm:{k}": v for k, v in settings.items()}}
        commands.ops.clear()
        return engine.up(cfg, replace=replace)

    up.engine, up.commands = engine, commands
    up()
    return up


def node_steps(node):
    return {f"{node}-{step}" for step in NODE_STEPS}


def test_a_second_up_changes_nothing(stack):
    plan = stack()
    assert plan.changed() == {} and plan.counts()["same"] == RESOURCES
    assert stack.commands.ops == []


def test_a_worker_added_creates_its_machine_and_steps_and_relabels(stack):
    plan = stack(workers=3)
    new = "azure-swarm-worker-3"
    firewall = {"nsg", *(f"fw-{rule}" for rule in ("swarm-management", "swarm-gossip-tcp", "swarm-gossip-udp",
                                                   "overlay-vxlan", "weave-tcp", "weave-udp", "flink-jobmanager",
                                                   "flink-taskmanager"))}
    assert plan.changed() == {
        **{name: "create" for name in node_steps(new) | {f"{new}-ip", f"{new}-nic", f"{new}-vm", f"{new}-host-key"}},
        **{name: "update" for name in firewall},  # every firewall admits the new node's address
        "swarm-labels": "update"}
    assert ("swarm-labels", "update") in stack.commands.ops  # runs again, with the new node


def test_a_worker_removed_is_removed_from_the_swarm_before_it_leaves(stack):
    stack(workers=3)
    plan = stack(workers=2)
    gone = "azure-swarm-worker-3"
    assert plan.names("delete") == node_steps(gone) | {f"{gone}-ip", f"{gone}-nic", f"{gone}-vm", f"{gone}-host-key"}
    assert plan.names("create", "replace") == set()
    ran = stack.commands.ops
    assert ran.index((f"{gone}-member", "delete")) < ran.index((f"{gone}-join", "delete"))  # drained, removed, leaves
    order = [s.name for s in plan.steps]
    assert order.index(f"{gone}-join") < order.index(f"{gone}-vm")  # leaves while its machine still runs
    assert order.index("swarm-labels") < order.index(f"{gone}-member")  # deletes come last


def test_a_replaced_vm_leaves_then_is_bootstrapped_again(stack):
    plan = stack(replace=[f"{WORKER}-vm"])
    assert plan.changed() == {**{name: "replace" for name in node_steps(WORKER) | {f"{WORKER}-vm"}},
                              "swarm-labels": "update"}  # labels the new node id
    ran = stack.commands.ops
    # delete-first, dependents before the VM: the old node is removed on the manager, leaves, then the new
    # machine gets Docker, joins, and its new node id is followed by -member
    assert ran[:2] == [(f"{WORKER}-member", "delete"), (f"{WORKER}-join", "delete")]
    assert ran.index((f"{WORKER}-docker", "create")) < ran.index((f"{WORKER}-join", "create"))
    order = [s.name for s in plan.steps]
    assert order.index(f"{WORKER}-join") < order.index(f"{WORKER}-vm")  # (the first entries are the deletes)


def test_a_gcp_image_change_replaces_the_gcp_vms_and_reruns_their_steps(stack, monkeypatch):
    real = config.read_yaml

    def other_image(path, field):
        doc = real(path, field)
        if path == config.DEFAULTS_FILE:
            return dict(doc, gcp=dict(doc["gcp"], image="ubuntu-os-cloud/ubuntu-2204-lts"))
        return doc

    monkeypatch.setattr(config, "read_yaml", other_image)
    plan = stack()
    node = "google-cloud-worker-1"
    assert plan.changed() == {**{name: "replace" for name in node_steps(node) | {f"{node}-vm"}},
                              "swarm-labels": "update"}


def test_an_azure_image_change_replaces_the_azure_vms_which_azure_cannot_update(stack, monkeypatch):
    """azure-native plans a new image as an in-place update that Azure refuses (409, the fake refuses
    too); the program's replace_on_changes makes it a replacement."""
    real = config.read_yaml

    def other_image(path, field):
        doc = real(path, field)
        if path == config.DEFAULTS_FILE:
            return dict(doc, azure=dict(doc["azure"], image=dict(doc["azure"]["image"], sku="minimal")))
        return doc

    monkeypatch.setattr(config, "read_yaml", other_image)
    plan = stack()
    azure = ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", WORKER)
    assert {f"{n}-vm" for n in azure} <= plan.names("replace") and plan.error == ""
    assert "google-cloud-worker-1-vm" not in plan.changed()


def test_the_only_manager_replaced_rebuilds_the_swarm_and_flink(stack):
    """With one manager its VM is the swarm: every node leaves, the swarm is initialised anew, all join it,
    and the network and services are made anew in it (the new jobmanager finds its jobs in the state that
    its node keeps)."""
    plan = stack(replace=["azure-swarm-manager-vm"])
    workers = ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
    joins = {f"{n}-join" for n in workers}
    members = {f"{n}-member" for n in workers}
    leader = {f"azure-swarm-manager-{s}" for s in ("vm", "docker", "join", "weave", "member")} | {
        "swarm-init", "swarm-tokens"}
    assert plan.changed() == {**{name: "replace" for name in joins | members | leader | {
        "flink-net", "zookeeper", "jobmanager", "taskmanager"}}, "swarm-labels": "update"}
    ran = stack.commands.ops
    for join in joins:  # each node is removed (a manager demoted) on the manager before it leaves
        assert ran.index((join.replace("-join", "-member"), "delete")) < ran.index((join, "delete"))
    removals = [ran.index((m, "delete")) for m in members]
    assert max(removals) < ran.index(("azure-swarm-manager-join", "delete"))  # the manager removes, then leaves


def test_a_flink_change_updates_only_the_services_and_pulls(stack):
    plan = stack(flink={"image": "flink:1.20.2-java17", "taskSlots": 4})
    pulls = {f"{n}-pull" for n in ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")}
    assert plan.changed() == {name: "update" for name in pulls | {"zookeeper", "jobmanager", "taskmanager"}}
    assert stack(flink={"image": "flink:1.20.2-java17", "taskSlots": 4}).changed() == {}


def test_a_new_docker_version_updates_the_docker_steps_and_no_machine_whose_boot_data_is_kept(stack):
    """The user data is read at first boot only (Azure cannot change it: a 409): a change of it updates
    no machine, and the engine keeps the old value, for a replacement too; its steps do the rest."""
    def boot_data():
        return stack.engine.resource(f"{WORKER}-vm").inputs["osProfile"]["customData"]

    first = boot_data()
    plan = stack(dockerVersion="28.5.1")
    nodes = ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
    assert plan.changed() == {f"{n}-docker": "update" for n in nodes} and plan.error == ""
    assert boot_data() == first
    plan = stack(dockerVersion="28.5.1", replace=[f"{WORKER}-vm"])
    assert f"{WORKER}-vm" in plan.names("replace") and boot_data() == first


def test_an_edited_script_updates_exactly_its_commands_in_place(stack, tmp_path, monkeypatch):
    edit_script(monkeypatch, tmp_path / "scripts", "swarm-join.sh")
    plan = stack()
    joins = {f"{n}-join" for n in ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", WORKER,
                                   "google-cloud-worker-1")}
    assert plan.changed() == {name: "update" for name in joins}
    assert sorted(stack.commands.ops) == sorted((name, "update") for name in joins)  # create runs again, in place


def test_no_previous_output_is_sent_as_ssh_environment(stack):
    stack(workers=3)
    stack(workers=2, replace=[f"{WORKER}-vm"])
    assert stack.commands.ops and stack.commands.env_sent == []  # addPreviousOutputInEnv is off everywhere


def test_destroy_deletes_in_waves_dependents_first(stack):
    before = {r.urn: r for r in stack.engine.snapshot}
    plan = stack.engine.destroy()
    assert plan.counts()["delete"] == RESOURCES and stack.engine.snapshot == []
    position = {(s.type, s.name): i for i, s in enumerate(plan.steps)}
    for res in before.values():  # every resource goes after everything that depends on it
        for dep in map(before.get, res.dependencies()):
            if dep is not None:
                assert position[res.type, res.name] < position[dep.type, dep.name], (res.name, dep.name)


# --- managers -------------------------------------------------------------------------------------

@pytest.fixture
def ha(tmp_path, monkeypatch):
    """An engine with fake providers, and `up(managers=3, **config)` on a topology of `mgr-N` managers."""
    monkeypatch.setenv("FLINK_SWARM_KEY_DIR", str(tmp_path / "keys"))
    registry, commands, _ = fake_registry()
    engine = Engine(registry, stack="test", log=lambda text: None)

    def up(managers=3, order=None, workers=2, **settings):
        names = order or [f"mgr-{i}" for i in range(1, managers + 1)]
        nodes = [{"name": n, "cloud": "azure", "role": "manager"} for n in names] + [
            {"name": "jm", "cloud": "gcp", "role": "jobmanager"},
            {"name": "w", "cloud": "gcp", "role": "worker", "count": workers}]
        path = tmp_path / "topology.yaml"
        path.write_text(yaml.safe_dump({"nodes": nodes}))
        commands.ops.clear()
        return engine.up({**BASE_CONFIG, "flink-swarm:topology": str(path),
                          **{f"flink-swarm:{k}": v for k, v in settings.items()}})

    up.commands = commands
    up()
    return up


NODE_STEP = ("-join", "-docker", "-pull", "-weave", "-vm", "-ip", "-nic")
FLINK = {"flink-net", "jobmanager", "taskmanager"}


def test_moving_control_changes_no_node_step_network_or_service(ha):
    plan = ha(controlManager="mgr-2")
    changed = plan.changed()
    assert not [n for n in changed if n.endswith(NODE_STEP) or n in FLINK], changed
    assert changed["manager"] == "update"  # the docker provider reaches mgr-2 now (in place: nothing under it moves)
    assert {"swarm-init", "swarm-tokens", "swarm-labels"} <= set(changed)  # run again, there
    members = {n: op for n, op in changed.items() if n.endswith("-member")}
    assert set(members.values()) == {"update"} and len(members) == 6  # where they would run, in place
    assert not [n for n, op in ha.commands.ops if op == "delete"]  # nothing removed, nobody leaves


def test_reordering_the_managers_only_moves_control(ha):
    plan = ha(order=["mgr-2", "mgr-1", "mgr-3"])
    assert not [n for n in plan.changed() if n.endswith(NODE_STEP) or n in FLINK]
    assert not [n for n, op in ha.commands.ops if op == "delete"]


def test_a_manager_removed_is_demoted_and_removed_before_it_leaves(ha):
    plan = ha(managers=2)  # a step from 3 to 1 (warned, not refused)
    assert {"mgr-3-member", "mgr-3-join"} <= plan.names("delete")
    ran = ha.commands.ops
    assert ran.index(("mgr-3-member", "delete")) < ran.index(("mgr-3-join", "delete"))
    assert not [n for n in plan.changed() if n in FLINK]


def test_one_to_three_managers_and_back(ha):
    ha(managers=1)
    grown = ha(managers=3)
    assert {"mgr-2-join", "mgr-3-join", "mgr-2-member", "mgr-3-member"} <= grown.names("create")
    assert not grown.names("replace") and not grown.names("delete")  # others' joins only learn of the managers
    back = ha(managers=1)
    assert {"mgr-2-join", "mgr-3-join", "mgr-2-member", "mgr-3-member"} <= back.names("delete")
    ran = ha.commands.ops
    for m in ("mgr-2", "mgr-3"):
        assert ran.index((f"{m}-member", "delete")) < ran.index((f"{m}-join", "delete"))


def test_python_on_builds_on_the_flink_nodes_and_updates_the_services_in_place_and_off_again(stack):
    flink_nodes = ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
    builds = {f"{n}-python" for n in flink_nodes}
    plan = stack(flink={"python": True})
    assert plan.changed() == {**{b: "create" for b in builds}, "jobmanager": "update", "taskmanager": "update"}
    assert stack(flink={"python": True}).changed() == {}
    plan = stack()
    assert plan.changed() == {**{b: "delete" for b in builds}, "jobmanager": "update", "taskmanager": "update"}


def test_the_plan_tells_where_the_time_went(stack):
    plan = stack(workers=3)
    phases = {phase: (start, end) for phase, start, end in plan.phases()}
    assert {"docker", "join", "weave", "pull", "labels", "azure-swarm-worker-3-vm"} <= set(phases)
    assert phases["docker"][0] >= phases["azure-swarm-worker-3-vm"][1]  # the new node's steps follow its VM
    assert phases["labels"][0] >= phases["join"][1]  # labels wait for every join
    assert all(0 <= start <= end <= plan.seconds for start, end in phases.values())
