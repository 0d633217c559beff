"""Spark beside Flink under mocks (flink-swarm:spark.enabled true): the master and the workers, their
image, the spark-defaults config, the pulls, the readiness step, the output, the firewalls, and what
turning Spark on or changing it touches."""
import hashlib
import shlex

import pytest
import yaml

from components import ports
from tests.config_helpers import static
from tests.harness import ROOT, program_runs

CMD, SERVICE = "command:remote:Command", "docker:index/service:Service"
CONFIG = "docker:index/serviceConfig:ServiceConfig"
NSG, FIREWALL = "azure-native:network:NetworkSecurityGroup", "gcp:compute/firewall:Firewall"
COMPONENT = "flink-swarm:index:SparkCluster"
JM = "azure-flink-jobmanager"
WORKERS = ["azure-swarm-worker-1", "azure-swarm-worker-2", "google-cloud-worker-1"]
IMAGE = "spark:3.5.7-scala2.12-java17-python3-ubuntu"
MASTER_URL = "spark://spark-master:7077"
ON = {"enabled": True}
BLOG = yaml.safe_load((ROOT / "config/topologies/blog.yaml").read_text())["nodes"]
LAB = static(name="lab", ip="192.0.2.10")  # a host of your own, with its firewall


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with program_runs(tmp_path_factory.mktemp("spark")) as runs:
        yield runs


@pytest.fixture(scope="module")
def on(runs):
    return runs(spark=ON)


def services(run):
    return {s.name: s for s in run.of_type(SERVICE)}


def container(service):
    return service.inputs["taskSpec"]["containerSpec"]


def pinned(image):
    """The image as the fake pull prints it, pinned by digest."""
    return f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def ip_of(run, name):
    return next(row["publicIp"] for row in run.outputs["nodes"] if row["name"] == name)


def inputs(run):
    return {(r.type, r.name): r.diffed_inputs for r in run.resources}


def changes(before, after):
    """(added, removed, changed) between two runs, by (type, name)."""
    old, new = inputs(before), inputs(after)
    return new.keys() - old.keys(), old.keys() - new.keys(), {k for k in old.keys() & new.keys() if old[k] != new[k]}


def spark_resources(run):
    """Everything under the SparkCluster component."""
    (component,) = run.of_type(COMPONENT)
    return {(r.type, r.name) for r in run.resources if r.parent == component.urn} | {(COMPONENT, component.name)}


def words(step):
    return shlex.split(step.inputs["create"])


def nsg_rules(run):
    return {r["name"]: r for r in run.of_type(NSG)[0].inputs["securityRules"]}


# Off by default ------------------------------------------------------------------------------------

def test_spark_is_off_by_default_and_off_is_the_flink_graph_alone(runs):
    default, off = runs(), runs(spark={"enabled": False})
    assert not default.of_type(COMPONENT) and not {"spark-master", "spark-worker"} & set(services(default))
    assert not [r for r in default.resources if "spark" in r.name]
    assert default.outputs["spark"] is None
    assert inputs(default) == inputs(off)
    assert {r.urn for r in default.resources} == {r.urn for r in off.resources}
    assert {"spark-master", "spark-worker"}.isdisjoint(nsg_rules(default))
    assert not [f for f in default.of_type(FIREWALL) if "spark" in f.inputs["name"]]


# The services --------------------------------------------------------------------------------------

def test_the_master_runs_beside_the_jobmanager_publishing_its_ui_on_that_node(on):
    master = services(on)["spark-master"]
    assert master.inputs["name"] == "spark-master"
    assert master.inputs["mode"] == {"replicated": {"replicas": 1}}
    spec = master.inputs["taskSpec"]
    assert spec["placement"]["constraints"] == ["node.labels.role == jobmanager"]
    assert container(master)["image"] == pinned(IMAGE)
    assert container(master)["args"] == ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master",
                                         "--port", "7077", "--webui-port", "8080"]
    assert not container(master).get("commands")  # the image's entrypoint runs the command as given
    assert master.inputs["endpointSpec"] == {"mode": "dnsrr", "ports": [
        {"name": "ui", "targetPort": 8080, "publishedPort": 8080, "protocol": "tcp", "publishMode": "host"}]}
    assert container(master)["env"] == {"SPARK_DAEMON_MEMORY": "512m"}


def test_a_worker_on_every_worker_node_offering_the_configured_cores_and_memory(runs):
    for spark, cores, memory in ((ON, "2", "2048m"), ({**ON, "workerCores": 1, "workerMemory": "1g"}, "1", "1024m")):
        worker = services(runs(spark=spark))["spark-worker"]
        assert worker.inputs["mode"] == {"global": True}
        assert worker.inputs["taskSpec"]["placement"]["constraints"] == ["node.labels.role == worker"]
        assert container(worker)["image"] == pinned(IMAGE)
        args = container(worker)["args"]
        assert args[:2] == ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.worker.Worker"]
        assert args[args.index("--port") + 1] == "7078"
        assert args[args.index("--cores") + 1] == cores and args[args.index("--memory") + 1] == memory
        assert args[-1] == MASTER_URL
        assert worker.inputs["endpointSpec"] == {"mode": "dnsrr"}  # nothing published


def test_both_are_on_the_flink_network_through_the_flink_provider(on):
    found = services(on)
    net, provider = on.get("flink-net"), on.get("manager", "pulumi:providers:docker")
    for name in ("spark-master", "spark-worker"):
        assert found[name].inputs["taskSpec"]["networksAdvanceds"] == [{"id": "flink-net-id", "aliases": [name]}]
        assert on.depends_on(found[name], net) and found[name].provider.startswith(provider.urn + "::")
    assert on.get("spark-defaults", CONFIG).provider.startswith(provider.urn + "::")


def defaults_config(run):
    config = run.get("spark-defaults", CONFIG)
    text = config.inputs["dataRaw"]
    assert config.inputs["name"] == f"spark-defaults-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return config, text


def test_both_read_spark_defaults_with_the_masters_url_and_the_stacks_settings(runs):
    run = runs(spark={**ON, "settings": {"spark.executor.memory": "1g", "spark.eventLog.enabled": True}})
    config, text = defaults_config(run)
    lines = text.splitlines()
    assert text.endswith("\n") and "spark.master spark://spark-master:7077" in lines
    assert {"spark.executor.memory 1g", "spark.eventLog.enabled true"} <= set(lines)
    assert all(len(line.split(" ", 1)) == 2 for line in lines)  # `key value`, Spark's properties-file form
    for name in ("spark-master", "spark-worker"):
        service = services(run)[name]
        assert container(service)["configs"] == [{
            "configId": "spark-defaults-id", "configName": config.inputs["name"],
            "fileName": "/opt/spark/conf/spark-defaults.conf", "fileUid": "185", "fileGid": "185", "fileMode": 0o444}]
        assert run.depends_on(service, config)


def test_the_config_is_named_by_its_text_and_made_beside_the_old_one(runs, on):
    config, text = defaults_config(on)
    assert text.splitlines()[0] == "spark.master spark://spark-master:7077"
    changed, _ = defaults_config(runs(spark={**ON, "settings": {"spark.executor.memory": "1g"}}))
    assert changed.inputs["name"] != config.inputs["name"]
    # a Docker config cannot change: a new one is made before the old goes (services.MADE_BESIDE)
    assert on.get("spark-defaults", CONFIG).delete_before_replace is False
    # (the capture tells the option apart: the services leave it unset, the Azure VMs set it)
    assert on.get("spark-master", SERVICE).delete_before_replace is None
    assert on.get("azure-swarm-worker-1-vm", "azure-native:compute:VirtualMachine").delete_before_replace is True


def test_every_spark_node_pulls_the_image_while_the_swarm_forms(on):
    pulls = {c.name.removesuffix("-spark-pull"): c for c in on.of_type(CMD) if c.name.endswith("-spark-pull")}
    assert sorted(pulls) == sorted([JM, *WORKERS])  # not the manager: it runs no Spark
    for node, pull in pulls.items():
        assert pull.inputs["connection"]["host"] == ip_of(on, node)
        assert words(pull)[5:] == ["image-pull", IMAGE]
        assert on.depends_on(pull, on.get(f"{node}-docker"))
        assert not on.depends_on(pull, on.get(f"{node}-join"))  # it overlaps the joins
    found = services(on)
    assert on.depends_on(found["spark-master"], pulls[JM])  # the jobmanager node's pull pins the image
    assert all(on.depends_on(found["spark-worker"], pull) for pull in pulls.values())
    formed = [c for c in on.of_type(CMD) if c.name.endswith(("-labels", "-member", "-weave"))]
    assert formed and all(on.depends_on(found["spark-worker"], c) for c in formed)


def test_up_waits_for_spark_beside_flink(on):
    ready = on.get(f"{JM}-spark-ready", CMD)
    assert ready.inputs["connection"]["host"] == ip_of(on, "azure-swarm-manager")  # the control manager
    said = words(ready)
    assert said[5:7] == ["flink-ready", "600"] and len(said[7]) == 16
    assert said[8:] == ["spark-master=1", f"spark-worker={len(WORKERS)}"]
    found = services(on)
    assert on.depends_on(ready, found["spark-master"]) and on.depends_on(ready, found["spark-worker"])
    # beside Flink: nothing of Flink waits for Spark
    spark = spark_resources(on)
    for res in on.resources:
        if (res.type, res.name) not in spark and res.name != "ssh-key-files":
            assert not any(on.depends_on(res, other) for other in on.resources if (other.type, other.name) in spark
                           and other.type != COMPONENT), res.name


def test_the_destroy_guard_goes_before_spark(on):
    guard = on.get("ssh-key-files")
    for res in on.resources:
        if (res.type, res.name) in spark_resources(on) and res.type != COMPONENT:
            assert on.depends_on(guard, res), res.name


def test_the_spark_output_says_where_the_master_is(on):
    assert on.outputs["spark"] == {"node": JM, "service": "spark-master", "master": MASTER_URL, "uiPort": 8080,
                                   "url": None}  # on a cloud: through SSH only
    assert "spark" not in on.secret_outputs


# Firewalls -----------------------------------------------------------------------------------------

def opened(run):
    """Every (rule name, port spec) the Azure NSG and the GCP firewalls open."""
    out = set()
    for rule in run.of_type(NSG)[0].inputs["securityRules"]:
        for spec in rule.get("destinationPortRanges") or [rule.get("destinationPortRange")]:
            out.add((rule["name"], spec))
    for fw in run.of_type(FIREWALL):
        for allow in fw.inputs["allows"]:
            for spec in allow.get("ports") or ["*"]:
                out.add((fw.inputs["name"], spec))
    return out


def covers(spec, port):
    if spec == "*":
        return False  # ESP: no ports
    low, _, high = spec.partition("-")
    return int(low) <= port <= int(high or low)


def test_sparks_cluster_ports_are_open_to_the_cluster_only_when_spark_is_on(runs, on):
    rules = nsg_rules(on)
    cluster = nsg_rules(on)["swarm-management"]["sourceAddressPrefixes"]
    for name, port in (("spark-master", "7077"), ("spark-worker", "7078")):
        index = next(i for i, rule in enumerate(ports.TABLE) if rule.name == name)
        assert rules[name]["destinationPortRanges"] == [port] and rules[name]["protocol"] == "Tcp"
        assert rules[name]["sourceAddressPrefixes"] == cluster  # every node's /32 and the clouds' subnets
        assert rules[name]["priority"] == 100 + 10 * index
        firewall = on.get(f"fw-{name}", FIREWALL).inputs
        assert firewall["name"] == f"test-{name}" and firewall["allows"] == [{"protocol": "tcp", "ports": [port]}]
        assert firewall["sourceRanges"] == on.get("fw-swarm-management", FIREWALL).inputs["sourceRanges"]
    for run in (runs(), runs(spark={"enabled": False})):
        assert not {spec for _, spec in opened(run)} & {"7077", "7078"}


@pytest.mark.parametrize("config", [{}, {"network": {"driver": "overlay"}}, {"monitoring": {"enabled": False}},
                                    {"adminCidrs": ["0.0.0.0/0"], "worldOpenAdmin": True}])
def test_no_cloud_firewall_ever_opens_the_masters_ui(runs, config):
    run = runs(spark=ON, **config)
    assert not [(name, spec) for name, spec in opened(run) if covers(spec, ports.SPARK_UI)]
    assert not [rule for rule in nsg_rules(run) if "spark-ui" in rule]


def test_static_hosts_firewall_lists_sparks_ports_only_when_on(runs):
    nodes = BLOG + [LAB]
    on, off = runs(nodes, spark=ON), runs(nodes)
    rules_on = words(on.get("lab-firewall", CMD))[9:]
    rules_off = words(off.get("lab-firewall", CMD))[9:]
    assert {"tcp:7077:cluster", "tcp:7078:cluster", "tcp:8080:loopback"} <= set(rules_on)
    assert not {r for r in rules_off if r.split(":")[1] in ("7077", "7078", "8080")}
    assert [r for r in rules_on if r not in ("tcp:7077:cluster", "tcp:7078:cluster", "tcp:8080:loopback")] == rules_off


# What turning Spark on, or changing it, touches -----------------------------------------------------

def expected_spark(nodes):
    return {(COMPONENT, "spark"), (SERVICE, "spark-master"), (SERVICE, "spark-worker"), (CONFIG, "spark-defaults"),
            (CMD, f"{JM}-spark-ready"), *((CMD, f"{n}-spark-pull") for n in nodes)}


def test_turning_spark_on_adds_spark_and_changes_only_the_firewall_rules(runs, on):
    added, removed, changed = changes(runs(), on)
    assert added == expected_spark([JM, *WORKERS]) | {(FIREWALL, "fw-spark-master"), (FIREWALL, "fw-spark-worker")}
    assert added - {(FIREWALL, "fw-spark-master"), (FIREWALL, "fw-spark-worker")} == spark_resources(on)
    assert not removed
    assert changed == {(NSG, "nsg")}
    # the NSG gains Spark's two rules and keeps every other rule as it was
    before, after = nsg_rules(runs()), nsg_rules(on)
    assert set(after) - set(before) == {"spark-master", "spark-worker"}
    assert {name: after[name] for name in before} == before


def test_turning_spark_on_with_a_static_host_changes_its_firewall_step_too(runs):
    nodes = BLOG + [LAB]
    added, removed, changed = changes(runs(nodes), runs(nodes, spark=ON))
    assert added == expected_spark([JM, *WORKERS, "lab"]) | {(FIREWALL, "fw-spark-master"),
                                                             (FIREWALL, "fw-spark-worker")}
    assert not removed
    assert changed == {(NSG, "nsg"), (CMD, "lab-firewall")}


@pytest.mark.parametrize("change,touched", [
    ({"image": "spark:3.5.6-scala2.12-java17-python3-ubuntu"},
     {(SERVICE, "spark-master"), (SERVICE, "spark-worker"), (CMD, f"{JM}-spark-ready"),
      *((CMD, f"{n}-spark-pull") for n in [JM, *WORKERS])}),
    ({"workerMemory": "1024m"}, {(SERVICE, "spark-worker"), (CMD, f"{JM}-spark-ready")}),
    ({"workerCores": 1}, {(SERVICE, "spark-worker"), (CMD, f"{JM}-spark-ready")}),
    ({"settings": {"spark.executor.memory": "1g"}},
     {(CONFIG, "spark-defaults"), (SERVICE, "spark-master"), (SERVICE, "spark-worker"), (CMD, f"{JM}-spark-ready")}),
], ids=["image", "workerMemory", "workerCores", "settings"])
def test_changing_spark_changes_only_spark_resources(runs, on, change, touched):
    added, removed, changed = changes(on, runs(spark={**ON, **change}))
    assert not added and not removed
    assert changed == touched
    assert changed <= spark_resources(on)


def test_the_spark_image_is_the_configured_one_pinned(runs):
    run = runs(spark={**ON, "image": "spark:3.5.6-scala2.12-java17-python3-ubuntu"})
    for name in ("spark-master", "spark-worker"):
        assert container(services(run)[name])["image"] == pinned("spark:3.5.6-scala2.12-java17-python3-ubuntu")


def test_a_new_worker_node_gets_its_spark_pull_and_is_counted(runs, on):
    grown = [dict(node, count=3) if node["name"] == "azure-swarm-worker" else node for node in BLOG]
    run = runs(grown, spark=ON)
    added, removed, _ = changes(on, run)
    assert (CMD, "azure-swarm-worker-3-spark-pull") in added and not removed
    assert {key for key in added if "spark" in key[1]} == {(CMD, "azure-swarm-worker-3-spark-pull")}
    pull = run.get("azure-swarm-worker-3-spark-pull", CMD)
    assert pull.inputs["connection"]["host"] == ip_of(run, "azure-swarm-worker-3")
    assert words(run.get(f"{JM}-spark-ready", CMD))[8:] == ["spark-master=1", "spark-worker=4"]
    assert run.depends_on(services(run)["spark-worker"], pull)
