"""Day two through the real `pulumi` CLI with stand-in providers that reach nothing: every later `up`
does the least.

Each plan is the real engine's (its event log: tests/cli.py Plan); the stand-ins (tests/plugins) answer
with their providers' diff rules and run nothing (a log says what they would have run). The end-to-end tests
(tests/e2e/test_day_two.py) run the same scenarios on real hosts, where Docker reads back what it
stores.
"""
import base64

import pytest
import yaml

from tests.cli import Project
from tests.harness import BASE_CONFIG, ROOT

BLOG = yaml.safe_load((ROOT / "config/topologies/blog.yaml").read_text())["nodes"]
WORKER = "azure-swarm-worker-2"
NODE_STEPS = ("docker", "join", "weave", "pull", "member")
RESOURCES = 100  # of the blog topology (18 of them monitoring's, 1 the SQL gateway, 1 the Weave pin)
# `up` returns when Flink serves: these run again whenever a service or a Flink node changes
READY = {"azure-flink-jobmanager-flink-ready": "update", "azure-flink-jobmanager-flink-serving": "update"}
# ... and when monitoring's services run: again whenever a node's machine changes
WATCHED = {"swarm-monitoring-ready": "update"}
# a node's address added or gone: Prometheus scrapes it (a new config, named by its digest, beside the
# old one), and the cluster's firewall rules admit it
SCRAPED = {"prometheus-config": "replace", "prometheus": "update", "fw-node-exporter": "update", **WATCHED}


def day_two(project: Project, nodes, **first):
    """`up(replace=(), **settings)` after a first `up(**first)`: the stack's config is BASE_CONFIG, the
    topology `nodes(**settings)` and the other settings (flink-swarm keys) exactly, set with `pulumi
    config`; then `pulumi up` (its preview skipped: the plan is the update's own; Project.up).
    `up.copy(folder)`: the same in a copy of the project, to go on from there."""
    project.pulumi("stack", "init", "test")
    project.set_config(BASE_CONFIG)
    up = stepper(project, nodes)
    up(**first)
    return up


def stepper(project: Project, nodes):
    def up(replace=(), **settings):
        path = project.dir / "topology.yaml"
        path.write_text(yaml.safe_dump({"nodes": nodes(settings)}))
        return project.up({"flink-swarm:topology": str(path), **{f"flink-swarm:{k}": v for k, v in settings.items()}},
                          replace)

    up.project = project
    up.copy = lambda folder: stepper(project.copy(folder), nodes)
    return up


def blog_nodes(settings):
    found = [dict(n) for n in BLOG]
    found[2]["count"] = settings.pop("workers", 2)
    return found


@pytest.fixture(scope="module")
def blog_first_up(tmp_path_factory):
    return day_two(Project(tmp_path_factory.mktemp("blog")), blog_nodes)


@pytest.fixture
def stack(blog_first_up, tmp_path):
    """`up(workers=2, replace=(), **config)` on the blog topology, after a first `up()` (made once, each
    test going on from its own copy of it)."""
    return blog_first_up.copy(tmp_path / "copy")


def node_steps(node):
    return {f"{node}-{step}" for step in NODE_STEPS}


def test_a_second_up_changes_nothing(stack):
    plan = stack()
    assert plan.changed() == {} and plan.counts()["same"] == RESOURCES
    assert plan.ran() == []


def test_a_worker_added_creates_its_machine_and_steps_and_relabels(stack):
    plan = stack(workers=3)
    new = "azure-swarm-worker-3"
    firewall = {"nsg", *(f"fw-{rule}" for rule in ("swarm-management", "swarm-gossip-tcp", "swarm-gossip-udp",
                                                   "overlay-vxlan", "weave-tcp", "weave-udp", "flink-jobmanager",
                                                   "flink-taskmanager"))}
    assert plan.changed() == {
        **{name: "create" for name in node_steps(new) | {f"{new}-ip", f"{new}-nic", f"{new}-vm", f"{new}-host-key"}},
        **{name: "update" for name in firewall},  # every firewall admits the new node's address
        "swarm-labels": "update", **READY, **SCRAPED}
    assert ("swarm-labels", "update") in plan.ran()  # runs again, with the new node


def test_a_worker_removed_is_removed_from_the_swarm_before_it_leaves(stack):
    stack(workers=3)
    plan = stack(workers=2)
    gone = "azure-swarm-worker-3"
    assert plan.names("delete") == node_steps(gone) | {f"{gone}-ip", f"{gone}-nic", f"{gone}-vm", f"{gone}-host-key"}
    assert plan.names("create", "replace") == {"prometheus-config"}  # scraping one node fewer
    ran = plan.ran()
    assert ran.index((f"{gone}-member", "delete")) < ran.index((f"{gone}-join", "delete"))  # drained, removed, leaves
    order = [s.name for s in plan.steps]
    assert order.index(f"{gone}-join") < order.index(f"{gone}-vm")  # leaves while its machine still runs
    assert order.index("swarm-labels") < order.index(f"{gone}-member")  # deletes come last


def test_a_replaced_vm_leaves_then_is_bootstrapped_again(stack):
    plan = stack(replace=[f"{WORKER}-vm"])
    assert plan.changed() == {**{name: "replace" for name in node_steps(WORKER) | {f"{WORKER}-vm"}},
                              "swarm-labels": "update", **READY, **WATCHED}  # labels the new node id
    ran = plan.ran()
    # delete-first, dependents before the VM: the old node is removed on the manager, leaves, then the new
    # machine gets Docker, joins, and its new node id is followed by -member
    assert ran[:2] == [(f"{WORKER}-member", "delete"), (f"{WORKER}-join", "delete")]
    assert ran.index((f"{WORKER}-docker", "create")) < ran.index((f"{WORKER}-join", "create"))
    order = [s.name for s in plan.steps]
    assert order.index(f"{WORKER}-join") < order.index(f"{WORKER}-vm")  # (the first entries are the deletes)


def edit_defaults(project: Project, edit) -> None:
    """config/defaults.yaml of the project's copy, changed by `edit(doc)` (a new release's defaults)."""
    path = project.dir / "config" / "defaults.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc))


def test_a_gcp_image_change_replaces_the_gcp_vms_and_reruns_their_steps(stack):
    edit_defaults(stack.project, lambda doc: doc["gcp"].update(image="ubuntu-os-cloud/ubuntu-2204-lts"))
    plan = stack()
    node = "google-cloud-worker-1"
    assert plan.changed() == {**{name: "replace" for name in node_steps(node) | {f"{node}-vm"}},
                              "swarm-labels": "update", **READY, **WATCHED}


def test_an_azure_image_change_replaces_the_azure_vms_which_azure_cannot_update(stack):
    """azure-native plans a new image as an in-place update that Azure refuses (409, the stand-in refuses
    too); the program's replace_on_changes makes it a replacement."""
    edit_defaults(stack.project, lambda doc: doc["azure"]["image"].update(sku="minimal"))
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
    # monitoring too: its steps on the new machine, its services in the new swarm
    monitoring = {"swarm-prometheus-pull", "swarm-node-exporter-pull", "swarm-grafana-pull", "swarm-monitoring-data",
                  "prometheus", "node-exporter", "grafana"}
    assert plan.changed() == {**{name: "replace" for name in joins | members | leader | monitoring | {
        "flink-net", "zookeeper", "jobmanager", "taskmanager", "sql-gateway"}}, "swarm-labels": "update", **READY,
        **WATCHED}
    ran = plan.ran()
    for join in joins:  # each node is removed (a manager demoted) on the manager before it leaves
        assert ran.index((join.replace("-join", "-member"), "delete")) < ran.index((join, "delete"))
    removals = [ran.index((m, "delete")) for m in members]
    assert max(removals) < ran.index(("azure-swarm-manager-join", "delete"))  # the manager removes, then leaves


def test_a_flink_change_updates_only_the_services_and_pulls(stack):
    plan = stack(flink={"image": "flink:1.20.2-java17", "taskSlots": 4})
    pulls = {f"{n}-pull" for n in ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")}
    assert plan.changed() == {**{name: "update" for name in pulls | {"zookeeper", "jobmanager", "taskmanager",
                                                                     "sql-gateway"}}, **READY}
    assert stack(flink={"image": "flink:1.20.2-java17", "taskSlots": 4}).changed() == {}


def test_a_new_docker_version_updates_the_docker_steps_and_no_machine_and_a_replacement_boots_it(stack):
    """The user data is read at first boot only (Azure cannot change it: a 409): a change of it updates
    no machine, and the engine keeps the old value; its steps do the rest. A replaced machine boots with
    the new value: the real engine checks the program's inputs again for a replacement, ignoreChanges
    left out (pulumi/pulumi v3.276.0 pkg/resource/deploy/step_generator.go:1416-1431)."""
    def boot_data():
        value = stack.project.resources()[f"{WORKER}-vm"]["inputs"]["osProfile"]["customData"]
        return base64.b64decode(value).decode()

    first = boot_data()
    plan = stack(dockerVersion="28.5.1")
    nodes = ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
    assert plan.changed() == {f"{n}-docker": "update" for n in nodes} and plan.error == ""
    assert boot_data() == first and "- 28.5.2\n" in first
    plan = stack(dockerVersion="28.5.1", replace=[f"{WORKER}-vm"])
    assert f"{WORKER}-vm" in plan.names("replace") and boot_data() == first.replace("- 28.5.2\n", "- 28.5.1\n")


def test_an_edited_script_updates_exactly_its_commands_in_place(stack):
    script = stack.project.dir / "components" / "scripts" / "swarm-join.sh"
    script.write_text(script.read_text() + "# edited\n")
    plan = stack()
    joins = {f"{n}-join" for n in ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", WORKER,
                                   "google-cloud-worker-1")}
    assert plan.changed() == {name: "update" for name in joins}
    assert sorted(plan.ran()) == sorted((name, "update") for name in joins)  # create runs again, in place


def test_no_previous_output_is_sent_as_ssh_environment(stack):
    stack(workers=3)
    plan = stack(workers=2, replace=[f"{WORKER}-vm"])
    sent = [op for op in stack.project.standin_log() if op.get("env")]
    assert plan.ran() and sent == []  # addPreviousOutputInEnv is off everywhere


def test_destroy_deletes_in_waves_dependents_first(stack):
    before = {r["urn"]: r for r in stack.project.resources().values()}
    plan = stack.project.run("destroy")
    assert plan.counts()["delete"] == RESOURCES and stack.project.resources() == {}
    position = {s.urn: i for i, s in enumerate(plan.steps)}
    for res in before.values():  # every resource goes after everything that depends on it
        deps = {*res.get("dependencies", ()), *(u for us in res.get("propertyDependencies", {}).values() for u in us),
                res.get("parent"), res.get("provider", "").rsplit("::", 1)[0]}
        for dep in deps & set(position):
            assert position[res["urn"]] < position[dep], (res["urn"], dep)


# --- managers -------------------------------------------------------------------------------------

def ha_nodes(settings):
    names = settings.pop("order", None) or [f"mgr-{i}" for i in range(1, settings.pop("managers", 3) + 1)]
    settings.pop("managers", None)
    return [{"name": n, "cloud": "azure", "role": "manager"} for n in names] + [
        {"name": "jm", "cloud": "gcp", "role": "jobmanager"},
        {"name": "w", "cloud": "gcp", "role": "worker", "count": settings.pop("workers", 2)}]


@pytest.fixture(scope="module")
def ha_first_up(tmp_path_factory):
    return day_two(Project(tmp_path_factory.mktemp("ha")), ha_nodes)


@pytest.fixture
def ha(ha_first_up, tmp_path):
    """`up(managers=3, order=None, workers=2, **config)` on a topology of `mgr-N` managers, after a first `up()`
    (made once, each test going on from its own copy of it)."""
    return ha_first_up.copy(tmp_path / "copy")


NODE_STEP = ("-join", "-docker", "-pull", "-weave", "-vm", "-ip", "-nic")
FLINK = {"flink-net", "jobmanager", "taskmanager"}


def node_or_flink(changed) -> list[str]:
    """What changed of the nodes' own steps (`<node>-<step>`, not the swarm's `swarm-<step>`) and of Flink."""
    return [n for n in changed if (n.endswith(NODE_STEP) and not n.startswith("swarm-")) or n in FLINK]


def test_moving_control_changes_no_node_step_network_or_service(ha):
    plan = ha(controlManager="mgr-2")
    changed = plan.changed()
    assert not node_or_flink(changed), changed
    # monitoring follows control: its steps run on mgr-2 (new there), Prometheus and Grafana move there
    assert {n: changed[n] for n in ("swarm-prometheus-pull", "swarm-monitoring-data", "prometheus", "grafana")} == {
        "swarm-prometheus-pull": "replace", "swarm-monitoring-data": "replace", "prometheus": "update",
        "grafana": "update"}
    assert changed["manager"] == "update"  # the docker provider reaches mgr-2 now (in place: nothing under it moves)
    assert {"swarm-init", "swarm-tokens", "swarm-labels"} <= set(changed)  # run again, there
    assert changed["swarm-weave-pin"] == "update"  # asks the registry again, there: the same digest, no -weave runs
    members = {n: op for n, op in changed.items() if n.endswith("-member")}
    assert set(members.values()) == {"update"} and len(members) == 6  # where they would run, in place
    assert not [n for n, op in plan.ran() if op == "delete"]  # nothing removed, nobody leaves


def test_reordering_the_managers_only_moves_control(ha):
    plan = ha(order=["mgr-2", "mgr-1", "mgr-3"])
    assert not node_or_flink(plan.changed())
    assert not [n for n, op in plan.ran() if op == "delete"]


def test_a_manager_removed_is_demoted_and_removed_before_it_leaves(ha):
    plan = ha(managers=2)  # a step from 3 to 1 (warned, not refused)
    assert {"mgr-3-member", "mgr-3-join"} <= plan.names("delete")
    ran = plan.ran()
    assert ran.index(("mgr-3-member", "delete")) < ran.index(("mgr-3-join", "delete"))
    assert not [n for n in plan.changed() if n in FLINK]


def test_one_to_three_managers_and_back(ha):
    ha(managers=1)
    grown = ha(managers=3)
    assert {"mgr-2-join", "mgr-3-join", "mgr-2-member", "mgr-3-member"} <= grown.names("create")
    # others' joins only learn of the managers; Prometheus scrapes them (a new config beside the old)
    assert grown.names("replace") == {"prometheus-config"} and not grown.names("delete")
    back = ha(managers=1)
    assert {"mgr-2-join", "mgr-3-join", "mgr-2-member", "mgr-3-member"} <= back.names("delete")
    ran = back.ran()
    for m in ("mgr-2", "mgr-3"):
        assert ran.index((f"{m}-member", "delete")) < ran.index((f"{m}-join", "delete"))


def test_python_on_builds_on_the_flink_nodes_and_updates_the_services_in_place_and_off_again(stack):
    flink_nodes = ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
    builds = {f"{n}-python" for n in flink_nodes}
    plan = stack(flink={"python": True})
    services = {name: "update" for name in ("jobmanager", "taskmanager", "sql-gateway")}  # the image with Python
    assert plan.changed() == {**{b: "create" for b in builds}, **services, **READY}
    assert stack(flink={"python": True}).changed() == {}
    plan = stack()
    assert plan.changed() == {**{b: "delete" for b in builds}, **services, **READY}


SPARK_NODES = ("azure-flink-jobmanager", "azure-swarm-worker-1", WORKER, "google-cloud-worker-1")
SPARK = {"spark", "spark-defaults", "spark-master", "spark-worker", "azure-flink-jobmanager-spark-ready",
         *(f"{n}-spark-pull" for n in SPARK_NODES)}
# Spark's cluster ports (7077, 7078) in every cloud firewall: the NSG's rules, GCP's firewalls of their own
SPARK_FIREWALL = {"nsg": "update", "fw-spark-master": "create", "fw-spark-worker": "create"}


def test_spark_on_adds_only_spark_and_its_firewall_rules_then_follows_the_workers_and_goes(stack):
    plan = stack(spark={"enabled": True})
    assert plan.changed() == {**{name: "create" for name in SPARK}, **SPARK_FIREWALL}  # nothing of Flink
    assert stack(spark={"enabled": True}).changed() == {}
    plan = stack(spark={"enabled": True, "workerMemory": "1g", "image": "spark:3.5.6-scala2.12-java17-python3-ubuntu"})
    assert {n: a for n, a in plan.changed().items() if n not in SPARK} == {}  # only Spark's own
    assert plan.changed()["spark-worker"] == "update" and plan.changed()["spark-master"] == "update"
    plan = stack(workers=3, spark={"enabled": True})
    assert plan.changed()["azure-swarm-worker-3-spark-pull"] == "create"
    assert plan.changed()["azure-flink-jobmanager-spark-ready"] == "update"  # waits for the new node's worker
    plan = stack(workers=3)  # Spark off again: all of it goes, its firewall rules with it
    assert plan.changed() == {**{name: "delete" for name in SPARK | {"azure-swarm-worker-3-spark-pull"}},
                              "nsg": "update", "fw-spark-master": "delete", "fw-spark-worker": "delete"}


def test_the_plan_tells_where_the_time_went(stack):
    plan = stack(workers=3)
    phases = {phase: (start, end) for phase, start, end in plan.phases()}
    assert {"docker", "join", "weave", "pull", "labels", "azure-swarm-worker-3-vm"} <= set(phases)
    assert phases["docker"][0] >= phases["azure-swarm-worker-3-vm"][1]  # the new node's steps follow its VM
    assert phases["labels"][0] >= phases["join"][1]  # labels wait for every join
    assert all(0 <= start <= end <= plan.seconds for start, end in phases.values())
