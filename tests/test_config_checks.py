"""The field checks every setting goes through, and the error they raise: Docker image references,
trailing newlines, long values shortened; a ConfigError is a Pulumi RunError."""
import pulumi
import pytest

from components.config import ConfigError
from tests.config_helpers import BLOG, OWN_KEY, parse, refused, static, with_node  # noqa: F401 (parse: a fixture)

BAD_IMAGES = ["--help", "-flink", "flink:1.20 --privileged", "flink;reboot", "Flink", "flink:", "flink@sha256:abc",
              "flink:-x", "$(reboot)", "", 5, "a" * 256]
GOOD_IMAGES = ["flink:1.20.3-java17", "ghcr.io/apache/flink:1.20", "localhost:5000/flink",
               "10.77.0.2:5000/flink:1.20.3-java17", "flink@sha256:" + "a" * 64, "rajchaudhuri/net-plugin:2.8.1",
               "weaveworks/net-plugin:latest_release", "registry.example.com/team/flink__x:v1@sha256:" + "0" * 64]


def test_config_error_is_a_pulumi_run_error():
    """`pulumi up` prints a RunError's message alone, not a Python traceback."""
    assert issubclass(ConfigError, pulumi.RunError) and issubclass(ConfigError, ValueError)


def test_a_long_value_is_shortened(parse):
    message = refused(parse, ".name", "x" * 20, nodes=with_node(name="x" * 5000))
    assert len(message) < 600


@pytest.mark.parametrize("field,kwargs", [
    ("node 'azure-swarm-manager'.cloud", {"nodes": with_node(cloud="azure\n")}),
    (".name", {"nodes": with_node(name="mgr\n")}),
    ("labels.disk", {"nodes": with_node(labels={"disk": "ssd\n"})}),
    ("flink-swarm:sshUser", {"sshUser": "ubuntu\n"}),
    ("flink-swarm:namePrefix", {"namePrefix": "dev\n"}),
    ("flink-swarm:flink.taskmanagerMemory", {"flink": {"taskmanagerMemory": "4096m\n"}}),
    ("flink-swarm:dockerVersion", {"dockerVersion": "28.5.2\n"}),
    ("flink-swarm:flink.image", {"flink": {"image": "flink:1.20.3-java17\n"}}),
    ("node 'on-prem'.user", {"nodes": BLOG + [static(user="admin\n")], **OWN_KEY}),
])
def test_a_trailing_newline_is_refused_everywhere(parse, field, kwargs):
    message = refused(parse, field, "\\n'", **kwargs)  # the value's repr ends in \n'
    assert "Fix:" in message


# Docker image references (flink.image, network.weavePlugin) -----------------------------------------

@pytest.mark.parametrize("value", BAD_IMAGES)
def test_images_are_docker_references(parse, value):
    shown = value[:20] if isinstance(value, str) else value  # a long value is shortened
    refused(parse, "flink-swarm:flink.image", shown, flink={"image": value})
    refused(parse, "flink-swarm:network.weavePlugin", shown, network={"weavePlugin": value})


@pytest.mark.parametrize("value", GOOD_IMAGES)
def test_docker_references_are_accepted(parse, value):
    settings = parse(flink={"image": value}, network={"weavePlugin": value})
    assert settings.flink.image == settings.network.weave_plugin == value
