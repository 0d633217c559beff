"""The YAML files (config/defaults.yaml, the topology), read strictly: no anchors nor aliases, no duplicate
keys, UTF-8, not too deep; a file that cannot be read or is not YAML is refused with the fix."""
from pathlib import Path

import pytest
import yaml

from components import config
from components.config import ConfigError
from tests.config_helpers import BLOG, parse, refused, write  # noqa: F401 (parse: a fixture)


def laughs(levels):
    """The "billion laughs": each level 9 aliases of the one before (9 levels: 9^9 strings from 342 bytes)."""
    names = "abcdefghi"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]" for previous, name in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def test_missing_topology_file(parse, tmp_path):
    missing = tmp_path / "nope.yaml"
    message = refused(parse, "flink-swarm:topology", str(missing), topology=str(missing))
    assert "cannot read" in message and "pulumi config set flink-swarm:topology config/topologies/blog.yaml" in message


def test_an_unreadable_defaults_file_is_named_with_its_own_fix(parse, monkeypatch, tmp_path):
    monkeypatch.setattr(config, "DEFAULTS_FILE", tmp_path / "defaults.yaml")
    message = refused(parse, str(tmp_path / "defaults.yaml"), str(tmp_path / "defaults.yaml"))
    assert "cannot read" in message and "git checkout" in message and "pulumi config set" not in message


def test_malformed_topology_yaml(parse, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - name: a\n    cloud: [azure\n")
    message = refused(parse, "flink-swarm:topology", str(bad), topology=str(bad))
    assert "not valid YAML" in message and "line" in message


def test_non_utf8_topology(parse, tmp_path):
    path = write(tmp_path, b"nodes:\n  - name: caf\xe9\n")
    assert "not UTF-8" in refused(parse, "flink-swarm:topology", path, topology=path)


def test_deeply_nested_topology(parse, tmp_path):
    path = write(tmp_path, "nodes: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in refused(parse, "flink-swarm:topology", path, topology=path)


# Anchors, aliases and duplicate keys --------------------------------------------------------------

def test_yaml_alias_bomb_is_refused_when_read(tmp_path):
    bomb = laughs(9)
    assert len(bomb) < 400
    with pytest.raises(ConfigError) as err:
        config.read_yaml(Path(write(tmp_path, bomb)), "flink-swarm:topology")
    assert "aliases" in str(err.value) and "Fix:" in str(err.value)


def test_yaml_anchors_and_aliases_in_the_topology_are_refused(parse, tmp_path):
    bomb = laughs(4) + "nodes: [*d, *d]\n"
    path = write(tmp_path, bomb)
    message = refused(parse, "flink-swarm:topology", path, topology=path)
    assert "anchors (&name) and aliases (*name) are not accepted" in message and "line 1" in message
    assert len(message) < 1000


def test_duplicate_yaml_keys_are_refused(parse, tmp_path):
    path = write(tmp_path, yaml.safe_dump({"nodes": BLOG}, sort_keys=False).replace(
        "role: manager\n", "role: manager\n  role: worker\n", 1))
    message = refused(parse, "flink-swarm:topology", path, topology=path)
    assert "duplicate key 'role'" in message and "line 5" in message


def test_defaults_yaml_is_read_as_strictly(parse, tmp_path, monkeypatch):
    defaults = config.DEFAULTS_FILE.read_text()
    monkeypatch.setattr(config, "DEFAULTS_FILE", Path(write(tmp_path, defaults + "sshUser: root\n", "d.yaml")))
    assert "duplicate key 'sshUser'" in refused(parse, "d.yaml", "d.yaml")
