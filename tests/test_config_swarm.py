"""The swarm: how Docker is installed, the number of managers and the manager the control steps run through."""
import pytest

from tests.config_helpers import BLOG, parse, refused  # noqa: F401 (parse: a fixture)


def test_bad_docker_install(parse):
    refused(parse, "flink-swarm:dockerInstall", "snap", dockerInstall="snap")


def test_docker_version_is_exact_and_for_docker_ce_only(parse):
    assert (parse().docker_install, parse().docker_version) == ("docker-ce", "28.5.2")
    assert parse(dockerVersion="29.1.3").docker_version == "29.1.3"
    assert parse(dockerInstall="docker.io").docker_version == ""
    refused(parse, "flink-swarm:dockerVersion", "latest", dockerVersion="latest")
    refused(parse, "flink-swarm:dockerVersion", "28.5.2", dockerInstall="docker.io", dockerVersion="28.5.2")


# Managers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("managers", [2, 4])
def test_even_number_of_managers_is_a_warning(parse, managers):
    """Useless for fault tolerance, but a step between 1, 3 and 5 managers: warned, not refused."""
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": managers}] + BLOG[1:]
    (warning,) = parse(nodes=nodes).warnings
    assert f"{managers} managers" in warning and "fault tolerance" in warning


def test_three_managers_are_fine(parse):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": 3}] + BLOG[1:]
    assert len(parse(nodes=nodes).of_role("manager")) == 3


def test_the_control_manager_is_the_first_manager_or_the_one_named(parse):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": 3}] + BLOG[1:]
    assert parse(nodes=nodes).control_manager == "mgr-1"
    assert parse(nodes=nodes, controlManager="mgr-2").control_manager == "mgr-2"
    refused(parse, "flink-swarm:controlManager", "azure-flink-jobmanager", nodes=nodes,
            controlManager="azure-flink-jobmanager")
