"""Stack settings: read once, validated into typed objects before any resource is registered.

`parse()` turns plain dicts (the stack's `flink-swarm:` keys and the providers' keys) into
`Settings`, reading config/defaults.yaml and the topology file but nothing of a Pulumi program, so
every rule is testable without an engine; `load()` feeds it from `pulumi.Config`. Every error names the
field, the bad value and the fix. One module per subject: `access` (SSH, admin networks, names),
`network`, `flink`, `monitoring`, `spark`, `clouds`, `swarm`; `topology` expands the nodes; `checks` the field checks
and `ConfigError`; `yamlfile` the strict YAML reader; `types` what `parse()` returns.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Collection, Mapping, Optional

import pulumi

from . import access, clouds, flink, monitoring, network, spark, stackkeys, swarm
from .checks import ConfigError, fail
from .topology import DEFAULT_TOPOLOGY, NodeSpec, expand_topology
from .types import OWN, PROJECT, ROOT, Settings
from .yamlfile import read_yaml

__all__ = ["ConfigError", "NodeSpec", "PROJECT", "Settings", "load", "parse"]

DEFAULTS_FILE = ROOT / "config" / "defaults.yaml"


def parse(cfg: Mapping[str, Any], providers: Mapping[str, Optional[str]], stack: str,
          secret: Optional[Collection[str]] = None) -> Settings:
    """Validate raw stack config (`flink-swarm:` keys without the prefix, every key the stack sets) into
    `Settings`.

    `providers` holds `azure-native:location`, `gcp:project`, `gcp:region`, `gcp:zone` (or None);
    `secret` the keys the stack stores as secrets (None: not known, as without an engine).
    """
    stackkeys.check(cfg, secret)
    defaults = read_yaml(DEFAULTS_FILE, str(DEFAULTS_FILE))
    ssh_user = access.ssh_user(cfg, defaults)
    docker_install, docker_version = swarm.docker(cfg, defaults)
    nodes = _topology(cfg, ssh_user)
    access.check_azure_user(ssh_user, nodes)
    admin_cidrs, world_open = access.admin_cidrs(cfg, nodes)
    public, private, agent = access.key_pair(cfg, nodes)
    network_spec = network.read(cfg, defaults)
    flink_spec = flink.read(cfg, defaults)
    monitoring_spec = monitoring.read(cfg, defaults)
    flink_spec = dataclasses.replace(flink_spec, settings=dict(sorted(
        {**flink_spec.settings, **monitoring.flink_options(monitoring_spec)}.items())))
    azure = clouds.azure(defaults, providers, nodes)
    gcp = clouds.gcp(defaults, providers, nodes)
    local = clouds.local(cfg, defaults, nodes)
    network.check_subnets(network_spec, nodes, azure, gcp, local)
    flink.check_state(flink_spec, azure, gcp)
    settings = Settings(stack, access.name_prefix(cfg, stack), nodes, admin_cidrs, ssh_user, public, private,
                        cfg.get("weavePassword"), docker_install, docker_version, network_spec, flink_spec, azure,
                        gcp, access.ssh(cfg, defaults), monitoring_spec, spark.read(cfg, defaults),
                        clouds.quota_warnings(nodes) + swarm.manager_warnings(nodes), agent,
                        world_open, swarm.control_manager(cfg, nodes), local)
    clouds.check_capacity(settings)
    spark.check_memory(settings)
    return settings


def _topology(cfg: Mapping[str, Any], ssh_user: str) -> tuple[NodeSpec, ...]:
    topology = cfg.get("topology", DEFAULT_TOPOLOGY)
    field = f"{OWN}topology"
    if not isinstance(topology, str) or not topology or "\0" in topology:
        fail(field, topology, "not a file path", f"`pulumi config set {field} {DEFAULT_TOPOLOGY}`")
    path = Path(topology) if Path(topology).is_absolute() else ROOT / topology
    unreadable = f"point {field} at a readable YAML file, e.g. `pulumi config set {field} {DEFAULT_TOPOLOGY}`"
    return expand_topology(read_yaml(path, field, unreadable), ssh_user, field)


def load() -> Settings:
    """Read the current stack's config through Pulumi and validate it."""
    raw, secret = stackkeys.read()
    providers = {
        "azure-native:location": pulumi.Config("azure-native").get("location"),
        "gcp:project": pulumi.Config("gcp").get("project"),
        "gcp:region": pulumi.Config("gcp").get("region"),
        "gcp:zone": pulumi.Config("gcp").get("zone"),
    }
    settings = parse(raw, providers, pulumi.get_stack(), secret)
    conf = pulumi.Config(PROJECT)  # the secrets parse checked, as secret Outputs from here on
    settings = dataclasses.replace(settings, ssh_private_key=conf.get_secret("sshPrivateKey") if settings.ssh_private_key
                                   else None, weave_password=conf.get_secret("weavePassword"))
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    if settings.ssh_agent and not os.environ.get("SSH_AUTH_SOCK"):
        pulumi.log.warn(f"only {OWN}sshPublicKey is set, so SSH uses your ssh-agent's keys, but SSH_AUTH_SOCK is "
                        "not set: start an agent and `ssh-add` the key before `pulumi up`")
    return settings
