"""Flink's settings: slots, memory, python, flink.settings (Flink's own options) and where the state lives."""
import pytest

from components.config import ConfigError
from tests.config_helpers import PROVIDERS, parse, refused  # noqa: F401 (parse: a fixture)


@pytest.mark.parametrize("key,value", [("taskSlots", 0), ("taskmanagerMemory", "lots"), ("image", "")])
def test_bad_flink_settings(parse, key, value):
    refused(parse, f"flink-swarm:flink.{key}", value, flink={key: value})


@pytest.mark.parametrize("memory", ["0m", "0g", "000mb"])
def test_memory_above_zero(parse, memory):
    refused(parse, "flink-swarm:flink.jobmanagerMemory", memory, flink={"jobmanagerMemory": memory})


def test_flink_python_is_a_boolean_off_by_default(parse):
    assert parse().flink.python is False and parse(flink={"python": True}).flink.python is True
    refused(parse, "flink-swarm:flink.python", "yes", flink={"python": "yes"})


# flink.settings -----------------------------------------------------------------------------------

def test_flink_settings_are_the_defaults_with_the_stacks_keys_over_them(parse):
    settings = parse(flink={"settings": {"restart-strategy.type": None, "execution.checkpointing.interval": "1min",
                                         "execution.checkpointing.unaligned": True, "taskmanager.network.memory.fraction":
                                         0.2}}).flink.settings
    assert "restart-strategy.type" not in settings  # null drops a default
    assert settings["execution.checkpointing.interval"] == "1min"
    assert settings["execution.checkpointing.unaligned"] == "true"  # as Flink writes booleans
    assert settings["taskmanager.network.memory.fraction"] == "0.2"
    # the other defaults stay
    assert settings["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert list(settings) == sorted(settings)  # a stable order: no service update from reordering
    # with monitoring (on by default), Flink's Prometheus reporter
    assert settings["metrics.reporter.prom.port"] == "9249"
    assert "metrics.reporter.prom.port" not in parse(monitoring={"enabled": False}).flink.settings


@pytest.mark.parametrize("settings,field,value", [
    ("rocksdb", "flink-swarm:flink.settings", "rocksdb"),
    ({"state backend": "rocksdb"}, "flink-swarm:flink.settings", "state backend"),
    ({"a.b\nrest.port": "1"}, "flink-swarm:flink.settings", "a.b\nrest.port"),
    ({"state.backend": {"type": "rocksdb"}}, "flink-swarm:flink.settings.state.backend", "type"),
    ({"pipeline.jars": ["a.jar"]}, "flink-swarm:flink.settings.pipeline.jars", "a.jar"),
    ({"env.java.opts.all": "-Xss2m -verbose:gc"}, "flink-swarm:flink.settings.env.java.opts.all", "-Xss2m"),
    ({"state.savepoints.dir": "s3://b/$USER"}, "flink-swarm:flink.settings.state.savepoints.dir", "$USER"),
    ({"pipeline.name": "a\nrest.port: 1"}, "flink-swarm:flink.settings.pipeline.name", "rest.port"),
    ({"state.checkpoints.dir": "file:///data/*"}, "flink-swarm:flink.settings.state.checkpoints.dir", "*"),
    ({"pipeline.name": ""}, "flink-swarm:flink.settings.pipeline.name", ""),
])
def test_bad_flink_settings_name_the_key_and_the_fix(parse, settings, field, value):
    """A key and one scalar value a line: the image's entrypoint deletes whitespace, expands `$` and globs."""
    refused(parse, field, value, flink={"settings": settings})


@pytest.mark.parametrize("key", ["rest.port", "taskmanager.numberOfTaskSlots", "high-availability.type",
                                 "high-availability.storageDir", "parallelism.default"])
def test_flink_settings_the_program_writes_itself_are_refused_with_what_to_set(parse, key):
    message = refused(parse, f"flink-swarm:flink.settings.{key}", "1", flink={"settings": {key: "1"}})
    assert "flink-swarm:flink." in message or "leave it" in message or "leave them" in message


def test_secrets_are_refused_in_flink_settings_without_echoing_them(parse):
    for key in ("fs.azure.account.key.acct.dfs.core.windows.net", "s3.secret-key", "security.ssl.keystore-password"):
        with pytest.raises(ConfigError) as err:
            parse(flink={"settings": {key: "hunter2-value"}})
        assert f"flink-swarm:flink.settings.{key}" in str(err.value) and "hunter2" not in str(err.value)


# flink.state --------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, cloud, missing", [("gcs", "azure", "gcp:project"),
                                                   ("azure", "gcp", "azure-native:location")])
def test_a_state_bucket_needs_its_clouds_settings_even_without_nodes_there(parse, state, cloud, missing):
    nodes = [{"name": role, "cloud": cloud, "role": role} for role in ("manager", "jobmanager", "worker")]
    providers = {key: value for key, value in PROVIDERS.items() if not key.startswith(missing.split(":")[0])}
    with pytest.raises(ConfigError) as err:
        parse(nodes=nodes, providers=providers, flink={"state": state})
    assert "flink-swarm:flink.state" in str(err.value) and missing in str(err.value), str(err.value)
    refused(parse, "flink-swarm:flink.state", "s3", flink={"state": "s3"})


def test_a_gcs_bucket_takes_the_zones_region_without_gcp_nodes(parse):
    nodes = [{"name": role, "cloud": "azure", "role": role} for role in ("manager", "jobmanager", "worker")]
    settings = parse(nodes=nodes, providers={**PROVIDERS, "gcp:region": None}, flink={"state": "gcs"})
    assert settings.gcp.region == PROVIDERS["gcp:zone"].rsplit("-", 1)[0]
