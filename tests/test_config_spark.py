"""flink-swarm:spark's settings: the defaults, the bad inputs, spark.settings (spark-defaults options),
and each worker node's memory budget with the machine sizes it reads (clouds.machine_memory_mb)."""
import re

import pytest
import yaml

from components.config import ConfigError
from components.config.clouds import machine_memory_mb, machine_size
from components.config.spark import DAEMON_MEMORY_MB, NODE_RESERVE_MB, WORKER_MEMORY_MB
from components.config.topology import NodeSpec
from components.config.types import SparkSpec
from tests.config_helpers import BLOG, OWN_KEY, parse, refused, static  # noqa: F401 (parse: a fixture)
from tests.harness import ROOT

FIELD = "flink-swarm:spark"
ON = {"enabled": True}


def on(**fields):
    """flink-swarm:spark with Spark on and `fields`."""
    return {**ON, **fields}


def workers(size, gcp=None):
    """The blog topology with every Azure worker of `size` (and the GCP one of `gcp`, if given)."""
    sizes = {"azure": size, "gcp": gcp}
    return [dict(node, size=sizes[node["cloud"]]) if node["role"] == "worker" and sizes[node["cloud"]] else node
            for node in BLOG]


# The defaults and the switch ----------------------------------------------------------------------

def test_spark_is_off_by_default_with_the_documented_defaults(parse):
    assert parse().spark == SparkSpec(enabled=False, image="spark:3.5.7-scala2.12-java17-python3-ubuntu",
                                      worker_cores=2, worker_memory_mb=2048, settings={})


def test_spark_on_keeps_the_other_defaults_and_takes_the_stacks_values(parse):
    assert parse(spark=ON).spark == SparkSpec(True, "spark:3.5.7-scala2.12-java17-python3-ubuntu", 2, 2048, {})
    spec = parse(spark=on(image="registry.example.com/team/spark:3.5.7", workerCores=1, workerMemory="1g")).spark
    assert (spec.image, spec.worker_cores, spec.worker_memory_mb) == ("registry.example.com/team/spark:3.5.7", 1, 1024)


@pytest.mark.parametrize("memory,mb", [("512m", 512), ("2048m", 2048), ("2g", 2048), ("3072M", 3072),
                                       ("02G", 2048), ("1024g", 1 << 20)])
def test_worker_memory_in_sparks_form_as_mib(parse, memory, mb):
    assert parse(spark={"workerMemory": memory}).spark.worker_memory_mb == mb  # Spark off: no budget to meet


@pytest.mark.parametrize("value", ["yes", 1, "true", None])
def test_enabled_is_a_boolean(parse, value):
    refused(parse, f"{FIELD}.enabled", value, spark={"enabled": value})


# Bad inputs, each named ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 2000, "x", True, -1, 2.5])
def test_bad_worker_cores(parse, value):
    refused(parse, f"{FIELD}.workerCores", value, spark={"workerCores": value})


@pytest.mark.parametrize("value", ["100m", "2tb", 5, "511m", "1025g", "lots", "2048", "2 g", "", "0m"])
def test_bad_worker_memory(parse, value):
    message = refused(parse, f"{FIELD}.workerMemory", value, spark={"workerMemory": value})
    assert "2048m" in message or "2g" in message  # the fix shows the form


@pytest.mark.parametrize("value", ["--help", "Spark:Latest", "", 5, "spark:3.5 7", "spark@sha256:abc"])
def test_bad_image(parse, value):
    refused(parse, f"{FIELD}.image", value, spark={"image": value})


def test_an_unknown_spark_key_is_named_with_what_it_may_mean(parse):
    message = refused(parse, f"{FIELD}.workerMem", "4g", spark={"workerMem": "4g"})
    assert "did you mean 'workerMemory'?" in message
    message = refused(parse, f"{FIELD}.enable", True, spark={"enable": True})
    assert "did you mean 'enabled'?" in message


def test_spark_itself_must_be_an_object(parse):
    refused(parse, FIELD, "on", spark="on")


def test_a_misspelt_stack_key_is_named_with_spark(parse):
    with pytest.raises(ConfigError) as err:
        parse(sprak=ON)
    assert "flink-swarm:sprak" in str(err.value) and "did you mean 'spark'?" in str(err.value)


# spark.settings ------------------------------------------------------------------------------------

def test_settings_are_text_sorted_with_null_dropped(parse):
    settings = parse(spark={"settings": {"spark.executor.memory": "1g", "spark.eventLog.enabled": True,
                                         "spark.executor.cores": 1, "spark.sql.shuffle.partitions": None,
                                         "spark.executor.extraJavaOptions": "-XX:+UseG1GC -verbose:gc"}}).spark.settings
    assert settings == {"spark.eventLog.enabled": "true", "spark.executor.cores": "1",
                        "spark.executor.extraJavaOptions": "-XX:+UseG1GC -verbose:gc", "spark.executor.memory": "1g"}
    assert list(settings) == sorted(settings)  # a stable text: no new Docker config from reordering


@pytest.mark.parametrize("settings", ["spark.executor.memory=1g", ["spark.executor.memory"], 5])
def test_settings_must_be_a_mapping(parse, settings):
    message = refused(parse, f"{FIELD}.settings", settings, spark={"settings": settings})
    assert "must be an object" in message


@pytest.mark.parametrize("key", ["spark master", "spark..master", "spark.x\nspark.master", ".spark", "spark.x=1",
                                 "a" * 201])
def test_a_bad_key_is_named(parse, key):
    message = refused(parse, f"{FIELD}.settings", key[:20], spark={"settings": {key: "1"}})
    assert "not a Spark option key" in message


@pytest.mark.parametrize("key", ["spark.master", "Spark.Master", "spark.driver.host", "spark.driver.bindAddress",
                                 "spark.ui.killEnabled"])
def test_the_options_flink_swarm_writes_are_refused_with_why(parse, key):
    message = refused(parse, f"{FIELD}.settings.{key}", "spark://elsewhere:7077",
                      spark={"settings": {key: "spark://elsewhere:7077"}})
    assert "set by flink-swarm itself" in message and "leave it out" in message


def test_an_option_that_moves_the_masters_published_ui_is_refused(parse):
    """The master reads spark.master.ui.port from spark-defaults.conf over its --webui-port (Spark's
    MasterArguments: `if (conf.contains(MASTER_UI_PORT.key)) webUiPort = conf.get(MASTER_UI_PORT)`), so
    the UI would leave the port the program publishes and `flink-swarm spark` reads."""
    refused(parse, f"{FIELD}.settings.spark.master.ui.port", "9090",
            spark={"settings": {"spark.master.ui.port": "9090"}})


@pytest.mark.parametrize("key", ["spark.authenticate.secret", "spark.ssl.keyPassword", "spark.ssl.trustStorePassword",
                                 "spark.hadoop.fs.s3a.secret.key",
                                 "spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net",
                                 "spark.hadoop.fs.gs.auth.service.account.private.key"])
def test_secrets_are_refused_without_echoing_them(parse, key):
    with pytest.raises(ConfigError) as err:
        parse(spark={"settings": {key: "hunter2-value"}})
    message = str(err.value)
    assert f"{FIELD}.settings.{key}" in message and "secret" in message and "Fix:" in message, message
    assert "hunter2" not in message


@pytest.mark.parametrize("value", ["a\nb", "1g\nspark.master spark://evil:7077", "a\tb", "a\x00b", "", "   ",
                                   "x" * 1025])
def test_a_value_is_one_plain_line(parse, value):
    with pytest.raises(ConfigError) as err:
        parse(spark={"settings": {"spark.app.name": value}})
    message = str(err.value)
    assert f"{FIELD}.settings.spark.app.name:" in message and "one line" in message and "Fix:" in message, message


@pytest.mark.parametrize("value", [{"memory": "1g"}, ["1g"]])
def test_a_nested_value_is_refused(parse, value):
    message = refused(parse, f"{FIELD}.settings.spark.executor", value, spark={"settings": {"spark.executor": value}})
    assert "not a single value" in message


# The memory budget ---------------------------------------------------------------------------------

def test_the_blog_topology_holds_the_default_taskmanager_and_spark_worker(parse):
    settings = parse(spark=ON, flink={"taskmanagerMemory": "4096m"})
    assert settings.spark.enabled and settings.spark.worker_memory_mb == 2048  # 4096 + 2048 + 512 + 1024 <= 8192
    assert {node.size for node in settings.nodes} == {None}  # the clouds' defaults: Standard_D2s_v5, e2-standard-2
    assert (settings.azure.size, settings.gcp.size) == ("Standard_D2s_v5", "e2-standard-2")


def test_a_spark_worker_the_nodes_cannot_hold_is_refused_naming_the_node_the_numbers_and_the_fix(parse):
    message = refused(parse, f"{FIELD}.workerMemory", "4096m", spark=on(workerMemory="4096m"))
    assert "azure-swarm-worker-1" in message  # the first worker node that cannot hold it
    need = 4096 + 4096 + DAEMON_MEMORY_MB + NODE_RESERVE_MB
    for number in ("8192 MiB", "4096 MiB", f"{DAEMON_MEMORY_MB} MiB", f"{NODE_RESERVE_MB} MiB", f"{need} MiB"):
        assert number in message, number
    assert "flink.taskmanagerMemory" in message
    fix = message.split("Fix:", 1)[1]
    assert "at most 2560m" in fix and "flink.taskmanagerMemory" in fix and "larger" in fix
    # the fix is exact: what it names fits, a MiB more does not
    assert parse(spark=on(workerMemory="2560m")).spark.worker_memory_mb == 2560
    refused(parse, f"{FIELD}.workerMemory", "2561m", spark=on(workerMemory="2561m"))
    # ... and so is its other way out: a smaller taskmanager
    assert parse(spark=on(workerMemory="4096m"), flink={"taskmanagerMemory": "2560m"}).spark.worker_memory_mb == 4096


def test_the_refusal_names_the_nodes_size_its_clouds_default_too(parse):
    """docs/spark.md "Sizing nodes for both engines": the refusal names "the node, its size and the numbers"."""
    message = refused(parse, f"{FIELD}.workerMemory", "4096m", spark=on(workerMemory="4096m"))
    assert "azure-swarm-worker-1 (Standard_D2s_v5, 8192 MiB)" in message, message


DEV_SMALL = yaml.safe_load((ROOT / "config/topologies/dev-small.yaml").read_text())["nodes"]


@pytest.mark.parametrize("nodes,taskmanager,most", [
    (BLOG, "4096m", 2560),
    (workers("Standard_D4s_v5", gcp="e2-standard-4"), "8192m", 6656),
    (DEV_SMALL, "2048m", 512),
], ids=["defaults", "D4s_v5-e2-standard-4", "dev-small"])
def test_the_documented_sizing_table_holds(parse, nodes, taskmanager, most):
    """docs/spark.md's table: the most a Spark worker may have beside the taskmanager, on each machine."""
    flink = {"taskmanagerMemory": taskmanager}
    assert parse(nodes=nodes, flink=flink, spark=on(workerMemory=f"{most}m")).spark.worker_memory_mb == most
    message = refused(parse, f"{FIELD}.workerMemory", f"{most + 1}m", nodes=nodes, flink=flink,
                      spark=on(workerMemory=f"{most + 1}m"))
    assert f"at most {most}m" in message


def test_the_gcp_workers_default_size_is_checked_too(parse):
    nodes = workers("Standard_D4s_v5")  # 16 GiB Azure workers: only the e2-standard-2 one is short
    message = refused(parse, f"{FIELD}.workerMemory", "4096m", nodes=nodes, spark=on(workerMemory="4096m"))
    assert "google-cloud-worker-1" in message and "8192 MiB" in message
    assert "azure-swarm-worker" not in message


def test_a_small_worker_is_refused_naming_its_size(parse):
    nodes = workers("Standard_B2s")  # 4 GiB
    message = refused(parse, f"{FIELD}.workerMemory", "1024m", nodes=nodes, spark=on(workerMemory="1024m"),
                      flink={"taskmanagerMemory": "2048m"})
    assert "azure-swarm-worker-1" in message and "Standard_B2s" in message
    assert "4096 MiB" in message and f"{2048 + 1024 + DAEMON_MEMORY_MB + NODE_RESERVE_MB} MiB" in message
    assert "at most 512m" in message


def test_the_fix_never_names_a_worker_memory_spark_refuses(parse):
    """With the default taskmanager (4096m) a 4 GiB worker cannot hold even the smallest Spark worker:
    the fix must not tell the user to give Spark a negative (or under-512m) amount."""
    message = refused(parse, f"{FIELD}.workerMemory", "2048m", nodes=workers("Standard_B2s"), spark=ON)
    suggested = [int(n) for n in re.findall(r"at most (-?[0-9]+)m", message)]
    assert all(n >= WORKER_MEMORY_MB[0] for n in suggested), message


def test_nodes_of_unknown_memory_are_not_checked(parse):
    big = on(workerMemory="64g")
    # a size the rules do not know
    nodes = workers("Standard_NC6s_v3", gcp="a2-highgpu-1g")
    assert parse(nodes=nodes, spark=big, flink={"taskmanagerMemory": "4g"}).spark.worker_memory_mb == 64 * 1024
    # static nodes: the program does not know their machines
    nodes = BLOG[:2] + [static(name="lab-1"), static(name="lab-2", ip="192.0.2.11")]
    assert parse(nodes=nodes, spark=big, **OWN_KEY).spark.worker_memory_mb == 64 * 1024


def test_only_worker_nodes_are_budgeted(parse):
    nodes = [dict(node, size="Standard_B1s") if node["role"] == "manager" else node for node in BLOG]  # 1 GiB
    assert parse(nodes=nodes, spark=ON).spark.enabled


def test_spark_off_checks_no_budget(parse):
    assert parse(nodes=workers("Standard_B2s"), spark={"workerMemory": "8g"}).spark.enabled is False


def test_sparks_cluster_rules_count_in_the_azure_nsgs_limit(parse):
    """8 cluster rules with Spark's two (overlay, monitoring off) x (nodes + 2 subnets) + 1 adminCidr <= 4000."""
    plain, off = {"driver": "overlay", "encrypted": False}, {"enabled": False}

    def nodes(count):
        return BLOG[:2] + [dict(BLOG[2], count=count - 3)] + BLOG[3:]

    assert len(parse(nodes=nodes(640), network=plain, monitoring=off).nodes) == 640  # 6 x 642 + 1
    message = refused(parse, "flink-swarm:topology", 640, nodes=nodes(640), network=plain, monitoring=off, spark=ON)
    assert "at most 497 nodes" in message  # (4000 - 1) // 8 - 2
    assert len(parse(nodes=nodes(497), network=plain, monitoring=off, spark=ON).nodes) == 497
    refused(parse, "flink-swarm:topology", 498, nodes=nodes(498), network=plain, monitoring=off, spark=ON)


# The machines' memory ------------------------------------------------------------------------------

@pytest.mark.parametrize("cloud,size,mb", [
    ("azure", "Standard_D2s_v5", 8192), ("azure", "Standard_D4ls_v5", 8192), ("azure", "Standard_E2s_v5", 16384),
    ("azure", "Standard_F4s_v2", 8192), ("azure", "Standard_B2s", 4096), ("azure", "Standard_D4s_v5", 16384),
    ("azure", "Standard_B1ms", 2048), ("azure", "Standard_D2as_v5", 8192), ("azure", "Standard_D2ls_v5", 4096),
    ("gcp", "e2-standard-4", 16384), ("gcp", "n1-standard-2", 7680), ("gcp", "n2-highmem-2", 16384),
    ("gcp", "e2-medium", 4096), ("gcp", "e2-standard-2", 8192), ("gcp", "e2-highcpu-8", 8192),
    ("gcp", "n1-standard-1", 3840), ("gcp", "e2-micro", 1024),
    ("azure", "Standard_NC6s_v3", None), ("azure", "Standard_A2_v2", None), ("azure", "Standard_B2ts_v2", None),
    ("azure", "Standard_D2", None), ("azure", "large", None),
    ("gcp", "e2-custom-4-16384", None), ("gcp", "a2-highgpu-1g", None), ("gcp", "f1-micro", None),
])
def test_machine_memory_by_size(cloud, size, mb):
    assert machine_memory_mb(cloud, size) == mb


def test_machine_memory_takes_the_clouds_default_size_and_knows_nothing_of_own_machines(parse):
    settings = parse()
    assert machine_size(NodeSpec("w", "azure", "worker"), settings) == "Standard_D2s_v5"
    assert machine_size(NodeSpec("w", "gcp", "worker"), settings) == "e2-standard-2"
    assert machine_size(NodeSpec("w", "gcp", "worker", "n2-highmem-2"), settings) == "n2-highmem-2"
    assert machine_size(NodeSpec("w", "static", "worker", public_ip="192.0.2.10"), settings) is None
    assert machine_size(NodeSpec("w", "local", "worker"), settings) is None
    assert machine_memory_mb("static", "Standard_D2s_v5") is None


@pytest.mark.parametrize("cloud,size,mb", [
    ("azure", "Standard_D2_v2", 7 * 1024),  # Dv2: 3.5 GiB a vCPU, not Dv3+'s 4
    ("azure", "Standard_D1_v2", 3584),
    ("azure", "Standard_D11_v2", 14 * 1024),  # memory-optimised Dv2: 2 vCPU, 14 GiB ("11" is no vCPU count)
    ("azure", "Standard_D12_v2", 28 * 1024),
    ("gcp", "n1-highmem-2", 13 * 1024),  # n1-highmem: 6.5 GB a vCPU, not 8
    ("gcp", "n1-highcpu-4", int(3.6 * 1024)),  # n1-highcpu: 0.9 GB a vCPU, not 1
])
def test_the_budget_never_assumes_more_memory_than_the_machine_has(parse, cloud, size, mb):
    """Sizes outside the rules' families: the rule may say None (not checked) or less, never more (the
    budget would pass a Spark worker the node cannot hold)."""
    got = machine_memory_mb(cloud, size)
    assert got is None or got <= mb, (size, got, mb)
