"""Flink's SQL gateway under mocks: the service beside the jobmanager, its Flink options, its published
port (which no firewall opens), the readiness steps, the output, the off switch, a bucket's key, and
the flink.settings keys a stack may not set for it."""
import hashlib
import shlex

import pytest
import yaml

from components import ports
from components.config.flinkopts import HA_TUNABLES
from tests.config_helpers import parse, refused, static  # noqa: F401 (parse: a fixture)
from tests.harness import ROOT, program_runs
from tests.test_flink import properties
from tests.test_spark import changes

CMD, SERVICE, SECRET = "command:remote:Command", "docker:index/service:Service", "docker:index/secret:Secret"
NSG, FIREWALL = "azure-native:network:NetworkSecurityGroup", "gcp:compute/firewall:Firewall"
JM = "azure-flink-jobmanager"
READINESS = {(CMD, f"{JM}-flink-ready"), (CMD, f"{JM}-flink-serving")}
FLINK_IMAGE = "flink:1.20.3-java17"
BLOG = yaml.safe_load((ROOT / "config/topologies/blog.yaml").read_text())["nodes"]
LAB = static(name="lab", ip="192.0.2.10")
# What the program writes for the gateway itself ...
GATEWAY_OWN = {"jobmanager.rpc.address": "jobmanager", "rest.address": "jobmanager", "rest.port": "8081",
               "execution.target": "remote", "sql-gateway.endpoint.rest.address": "sql-gateway",
               "sql-gateway.endpoint.rest.bind-address": "0.0.0.0", "sql-gateway.endpoint.rest.port": "8083"}
# ... and for the jobmanager alone (its addresses, high availability, its memory and parallelism)
JOBMANAGER_OWN = {"jobmanager.rpc.address", "jobmanager.rpc.port", "blob.server.port", "query.server.port",
                  "high-availability.type", "high-availability.zookeeper.quorum", "high-availability.storageDir",
                  "high-availability.jobmanager.port", "rest.port", "jobmanager.memory.process.size",
                  "parallelism.default"}
HA_MODE = {"high-availability", "high-availability.type", "high-availability.zookeeper.quorum",
           "high-availability.storageDir", "high-availability.jobmanager.port", "high-availability.cluster-id"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with program_runs(tmp_path_factory.mktemp("sql-gateway")) as runs:
        yield runs


@pytest.fixture(scope="module")
def run(runs):
    return runs()


@pytest.fixture(scope="module")
def off(runs):
    return runs(flink={"sqlGateway": False})


def service(run, name="sql-gateway"):
    return run.get(name, SERVICE)


def container(res):
    return res.inputs["taskSpec"]["containerSpec"]


def words(step):
    return shlex.split(step.inputs["create"])


def pinned(image):
    return f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


# The service ---------------------------------------------------------------------------------------

def test_the_gateway_runs_flinks_sql_gateway_from_the_jobmanagers_image_beside_it(run):
    gateway, jm = service(run), service(run, "jobmanager")
    assert gateway.inputs["name"] == "sql-gateway"
    assert gateway.inputs["mode"] == {"replicated": {"replicas": 1}}
    assert container(gateway)["image"] == container(jm)["image"] == pinned(FLINK_IMAGE)
    assert container(gateway)["args"] == ["/opt/flink/bin/sql-gateway.sh", "start-foreground"]
    assert not container(gateway).get("commands")  # the image's entrypoint, which writes FLINK_PROPERTIES
    spec = gateway.inputs["taskSpec"]
    assert spec["placement"]["constraints"] == jm.inputs["taskSpec"]["placement"]["constraints"] == [
        "node.labels.role == jobmanager"]
    assert spec["networksAdvanceds"] == [{"id": "flink-net-id", "aliases": ["sql-gateway"]}]
    assert run.depends_on(gateway, run.get("flink-net"))
    assert gateway.provider == jm.provider
    assert run.depends_on(gateway, run.get(f"{JM}-pull", CMD))  # the pull that pins the image
    assert run.depends_on(gateway, run.get(f"{JM}-state", CMD))


def test_the_gateway_submits_to_the_jobmanagers_rest_api_with_the_clusters_options(run):
    gateway, jm = properties(service(run)), properties(service(run, "jobmanager"))
    shared = {key: value for key, value in jm.items() if key not in JOBMANAGER_OWN}  # state.* and flink.settings
    assert {key for key in shared if key.startswith("state.")} == {
        "state.checkpoint-storage", "state.checkpoints.dir", "state.savepoints.dir"}
    assert shared["execution.checkpointing.interval"] == "30s"  # a flink.settings default
    assert shared.items() <= gateway.items()
    assert {key: value for key, value in gateway.items() if key not in shared} == GATEWAY_OWN


def test_the_gateway_runs_without_high_availability(runs, run):
    """The client finds the REST API by rest.address: no high-availability mode, quorum or directories.
    The only high-availability.* keys are flink.settings' ZooKeeper client tunables (inert without a mode)."""
    gateway = properties(service(run))
    assert not HA_MODE & set(gateway)
    ha = {key for key in gateway if key.lower().startswith("high-availability")}
    assert ha <= HA_TUNABLES and ha == {key for key in properties(service(run, "jobmanager"))
                                        if key in HA_TUNABLES}
    without = properties(service(runs(flink={"settings": {"high-availability.zookeeper.client.session-timeout":
                                                          None}})))
    assert not [key for key in without if key.lower().startswith("high-availability")]


def test_the_stacks_flink_settings_reach_the_gateway(runs):
    gateway = properties(service(runs(flink={"settings": {"state.backend.type": "rocksdb",
                                                          "execution.checkpointing.interval": "2min",
                                                          "restart-strategy.type": None}})))
    assert gateway["state.backend.type"] == "rocksdb" and gateway["execution.checkpointing.interval"] == "2min"
    assert "restart-strategy.type" not in gateway
    assert gateway["sql-gateway.endpoint.rest.port"] == "8083" and gateway["execution.target"] == "remote"


def test_the_gateways_heap_and_its_port_published_on_its_node(run):
    gateway = service(run)
    assert container(gateway)["env"]["JVM_ARGS"] == "-Xms512m -Xmx512m"
    assert set(container(gateway)["env"]) == {"FLINK_PROPERTIES", "JVM_ARGS"}
    assert gateway.inputs["endpointSpec"] == {"mode": "dnsrr", "ports": [
        {"name": "sql", "targetPort": 8083, "publishedPort": 8083, "protocol": "tcp", "publishMode": "host"}]}


def test_up_waits_for_the_gateway_to_run_and_answer(run):
    ready, serving = (run.get(f"{JM}-{step}", CMD) for step in ("flink-ready", "flink-serving"))
    assert "sql-gateway=1" in words(ready)[8:]
    assert run.depends_on(ready, service(run))
    said = words(serving)
    assert said[5] == "flink-serving" and len(said[6:]) == 7 and said[6 + 6] == "8083"  # the 7th argument
    assert said[-1] == str(ports.SQL_GATEWAY)
    assert serving.inputs["connection"]["host"] == next(r["publicIp"] for r in run.outputs["nodes"] if r["name"] == JM)


def test_the_output_says_where_the_gateway_answers(run):
    assert run.outputs["flinkSqlGateway"] == {"node": JM, "port": 8083, "url": None}  # a cloud: through SSH only
    assert "flinkSqlGateway" not in run.secret_outputs


def test_a_python_cluster_runs_the_gateway_on_the_python_image(runs):
    run = runs(flink={"python": True})
    gateway, jm = service(run), service(run, "jobmanager")
    assert container(gateway)["image"] == container(jm)["image"]
    assert container(gateway)["image"].startswith("localhost/flink-swarm-pyflink:")
    builds = [c for c in run.of_type(CMD) if c.name.endswith("-python")]
    assert builds and all(run.depends_on(gateway, build) for build in builds)


# A bucket's key --------------------------------------------------------------------------------------

@pytest.mark.parametrize("state,plugin,scheme", [("gcs", "flink-gs-fs-hadoop", "gs://"),
                                                 ("azure", "flink-azure-fs-hadoop", "abfss://")])
def test_with_a_bucket_the_gateway_gets_its_key_and_entry_as_the_jobmanager(runs, state, plugin, scheme):
    run = runs(flink={"state": state})
    gateway, jm = service(run), service(run, "jobmanager")
    (secret,) = [s for s in run.of_type(SECRET) if s.name == "flink-state-key"]
    assert container(gateway)["secrets"] == container(jm)["secrets"]
    assert container(gateway)["secrets"][0]["secretName"] == secret.inputs["name"]
    assert container(gateway)["commands"] == container(jm)["commands"]
    assert container(gateway)["commands"][3:5] == ["flink-state-entry", plugin]
    assert container(gateway)["args"] == ["/opt/flink/bin/sql-gateway.sh", "start-foreground"]
    assert run.depends_on(gateway, secret)
    env = container(gateway)["env"]
    assert ("GOOGLE_APPLICATION_CREDENTIALS" in env) == (state == "gcs")
    if state == "gcs":
        assert env["GOOGLE_APPLICATION_CREDENTIALS"] == container(jm)["env"]["GOOGLE_APPLICATION_CREDENTIALS"]
    props = properties(gateway)
    assert props["state.checkpoint-storage"] == "filesystem"
    assert props["state.checkpoints.dir"].startswith(scheme) and props["state.savepoints.dir"].startswith(scheme)
    assert props["state.checkpoints.dir"] == properties(jm)["state.checkpoints.dir"]


# The off switch ------------------------------------------------------------------------------------

def test_off_removes_the_gateway_its_readiness_and_its_output(off):
    assert "sql-gateway" not in {s.name for s in off.of_type(SERVICE)}
    ready, serving = (off.get(f"{JM}-{step}", CMD) for step in ("flink-ready", "flink-serving"))
    revision = words(ready)[7]
    assert words(ready)[8:] == ["zookeeper=1", "jobmanager=1", "taskmanager=3"]
    assert words(serving)[5:] == ["flink-serving", "600", "8081", "jobmanager", "3", "6", revision]  # no 7th
    assert off.outputs["flinkSqlGateway"] is None


def test_off_changes_nothing_else_but_the_readiness_steps(run, off):
    added, removed, changed = changes(run, off)
    assert not added and removed == {(SERVICE, "sql-gateway")}
    assert changed == READINESS


def test_off_takes_the_gateways_port_off_a_static_hosts_firewall(runs):
    nodes = BLOG + [LAB]
    on, off = runs(nodes), runs(nodes, flink={"sqlGateway": False})
    rules_on, rules_off = words(on.get("lab-firewall", CMD))[9:], words(off.get("lab-firewall", CMD))[9:]
    assert "tcp:8083:loopback" in rules_on and "tcp:8081:loopback" in rules_on
    assert [rule for rule in rules_on if rule != "tcp:8083:loopback"] == rules_off
    assert not [rule for rule in rules_off if rule.split(":")[1] == "8083"]
    added, removed, changed = changes(on, off)
    assert not added and removed == {(SERVICE, "sql-gateway")}
    assert changed == READINESS | {(CMD, "lab-firewall")}


def cloud_openings(run):
    """Every port spec an Azure NSG rule or a GCP firewall opens."""
    specs = [spec for rule in run.of_type(NSG)[0].inputs["securityRules"]
             for spec in rule.get("destinationPortRanges") or [rule.get("destinationPortRange")]]
    specs += [spec for fw in run.of_type(FIREWALL) for allow in fw.inputs["allows"]
              for spec in allow.get("ports") or []]
    return specs


def covers(spec, port):
    if spec == "*":
        return False  # ESP's single value: no ports
    low, _, high = spec.partition("-")
    return int(low) <= port <= int(high or low)


@pytest.mark.parametrize("config", [{}, {"network": {"driver": "overlay"}}, {"spark": {"enabled": True}},
                                    {"monitoring": {"enabled": False}},
                                    {"adminCidrs": ["0.0.0.0/0"], "worldOpenAdmin": True}],
                         ids=["default", "overlay", "spark", "no-monitoring", "world-open-admin"])
def test_no_cloud_firewall_ever_opens_the_gateway(runs, config):
    run = runs(**config)
    specs = cloud_openings(run)
    assert specs and not [spec for spec in specs if covers(spec, ports.SQL_GATEWAY)]
    assert "flink-sql-gateway" not in {r["name"] for r in run.of_type(NSG)[0].inputs["securityRules"]}
    assert not [f for f in run.of_type(FIREWALL) if "sql-gateway" in f.inputs["name"]]


def test_a_local_stack_publishes_the_gateway_on_its_own_loopback_port(program):
    local = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())["config"]
    cleared = {key: None for key in ("azure-native:location", "gcp:project", "gcp:zone")}
    run = program(stack="local", **{**local, **cleared, "local": {"sqlGatewayPort": 18083}})
    (jm,) = [c for c in run.of_type("docker:index/container:Container") if c.inputs["hostname"] == "local-jobmanager"]
    assert {"internal": 8083, "external": 18083, "ip": "127.0.0.1"} in jm.inputs["ports"]
    assert run.outputs["flinkSqlGateway"] == {"node": "local-jobmanager", "port": 8083, "url": "http://127.0.0.1:18083"}


# The settings --------------------------------------------------------------------------------------

def test_sql_gateway_is_on_by_default_and_a_boolean(parse):
    assert parse().flink.sql_gateway is True
    assert parse(flink={"sqlGateway": False}).flink.sql_gateway is False
    refused(parse, "flink-swarm:flink.sqlGateway", "yes", flink={"sqlGateway": "yes"})


@pytest.mark.parametrize("key", ["sql-gateway.endpoint.rest.port", "sql-gateway.endpoint.rest.address",
                                 "sql-gateway.endpoint.rest.bind-address", "sql-gateway.endpoint.rest.bind-port",
                                 "SQL-Gateway.Endpoint.Rest.Port", "execution.target", "rest.address"])
def test_flink_settings_refuse_what_the_gateway_is_given(parse, key):
    message = refused(parse, f"flink-swarm:flink.settings.{key}", "9999", flink={"settings": {key: "9999"}})
    assert "leave it out" in message
