"""Config validation as a whole: every bad input is refused with the field, the value and the fix, before the
program registers anything. One file per subject beside this one (tests/test_config_*.py); what they share
is in tests/config_helpers.py."""
import pytest

from components.config import ConfigError
from tests.config_helpers import parse  # noqa: F401 (a fixture)


def test_blog_topology_expands_counts(parse):
    settings = parse()
    assert [node.name for node in settings.nodes] == [
        "azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", "azure-swarm-worker-2",
        "google-cloud-worker-1"]
    assert [node.role for node in settings.nodes] == ["manager", "jobmanager", "worker", "worker", "worker"]
    assert settings.network.driver == "weave" and settings.network.subnet == "172.30.0.0/16"
    assert settings.gcp.region == "europe-west1"
    assert settings.name_prefix == "dev"


@pytest.mark.parametrize("overrides", [{"adminCidrs": None}, {"network": {"driver": "calico"}},
                                       {"topology": "config/topologies/missing.yaml"},
                                       {"adminCidrs": ["0.0.0.0/0"]}, {"flink": {"image": "--help"}}])
def test_program_refuses_bad_config_before_registering_anything(program, overrides):
    with pytest.raises(ConfigError) as err:
        program(**overrides)
    assert err.value.registered == []
    assert program().resources  # the same runtime with good config does register resources
