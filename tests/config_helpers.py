"""What the tests/test_config*.py files share: the `parse` fixture, `refused`, the blog topology and
the nodes, keys and files the tests build from it.

A test file takes the fixture by importing it by name (`from tests.config_helpers import parse`)."""
import pytest
import yaml

from components import config
from components.config import ConfigError

PROVIDERS = {"azure-native:location": "westeurope", "gcp:project": "p", "gcp:zone": "europe-west1-b",
             "gcp:region": None}

BLOG = [
    {"name": "azure-swarm-manager", "cloud": "azure", "role": "manager"},
    {"name": "azure-flink-jobmanager", "cloud": "azure", "role": "jobmanager"},
    {"name": "azure-swarm-worker", "cloud": "azure", "role": "worker", "count": 2},
    {"name": "google-cloud-worker", "cloud": "gcp", "role": "worker", "count": 1},
]
GCP_ONLY = [dict(node, cloud="gcp") for node in BLOG]

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGi+qM0YoSwchZLbxBk02bA2h4RWsGTMfQED7RfkooWV alice@laptop"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
OWN_KEY = {"sshPublicKey": PUBLIC_KEY, "sshPrivateKey": PRIVATE_KEY}
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEVAxhBK0IIpcdvPntgpGr+cXDxLljFrOvemiWpMB70"


@pytest.fixture
def parse(tmp_path):
    """parse(nodes=..., secret=..., **config) -> Settings, with the topology written to a temp file;
    `secret`: the keys stored as secrets (None: not known, as without an engine)."""

    def run(nodes=None, providers=PROVIDERS, secret=None, **cfg):
        if nodes is not None:
            path = tmp_path / "topology.yaml"
            path.write_text(yaml.safe_dump({"nodes": nodes}))
            cfg.setdefault("topology", str(path))
        cfg.setdefault("adminCidrs", ["203.0.113.7/32"])
        return config.parse(cfg, providers, "dev", secret)

    return run


def refused(parse, field, value, **kwargs):
    """parse(**kwargs) is refused with a message naming `field`, `value` and the fix; the message."""
    with pytest.raises(ConfigError) as err:
        parse(**kwargs)
    message = str(err.value)
    assert field in message, message
    assert repr(value) in message or str(value) in message, message
    assert "Fix:" in message, message
    return message


def with_node(**changes):
    """The blog topology with its first node (the manager) changed."""
    return [dict(BLOG[0], **changes)] + BLOG[1:]


def static(name="on-prem", role="worker", ip="192.0.2.10", **fields):
    """A static node's topology entry."""
    return {"name": name, "cloud": "static", "role": role, "publicIp": ip, "hostKey": HOST_KEY, **fields}


def write(tmp_path, content, name="t.yaml"):
    """A file of `content` (text or bytes) in tmp_path; its path as text."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)
