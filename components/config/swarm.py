"""The swarm's settings: how Docker is installed and which manager the control steps run through."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .checks import choice, fail
from .topology import MANAGER, NodeSpec
from .types import OWN

DOCKER_INSTALLS = ("docker-ce", "docker.io")
# Docker Engine's version as its apt repository's docker-ce package has it between `5:` and `-1~`
# (components/scripts/docker-install.sh): major 20 to 99 (17.03-19.03 are older than any Ubuntu the program uses)
VERSION = re.compile(r"[2-9][0-9]\.[0-9]{1,2}\.[0-9]{1,3}")


def docker(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[str, str]:
    """How Docker is installed, and for docker-ce the exact version (the distribution picks docker.io's)."""
    install = choice(f"{OWN}dockerInstall", cfg.get("dockerInstall", defaults["dockerInstall"]), DOCKER_INSTALLS)
    if install == "docker.io":
        if "dockerVersion" in cfg:
            fail(f"{OWN}dockerVersion", cfg["dockerVersion"], "docker.io installs the distribution's version",
                 "unset flink-swarm:dockerVersion, or use dockerInstall docker-ce to choose the version")
        return install, ""
    version = cfg.get("dockerVersion", defaults["dockerVersion"])
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        fail(f"{OWN}dockerVersion", version, "not a Docker Engine version", "write it as in Docker's release "
             "notes, e.g. 28.5.2 (`apt-cache madison docker-ce` lists what a host can get)")
    return install, version


def control_manager(cfg: Mapping[str, Any], nodes: tuple[NodeSpec, ...]) -> str:
    """The manager the control steps run through: the first manager unless `controlManager` names another."""
    managers = [node.name for node in nodes if node.role == MANAGER]
    name = cfg.get("controlManager", managers[0])
    if name not in managers:
        fail(f"{OWN}controlManager", name, f"not a manager of the topology ({', '.join(managers)})",
             "name a manager that is in the swarm and up, e.g. "
             f"`pulumi config set flink-swarm:controlManager {managers[-1]}`")
    return name


def manager_warnings(nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    managers = sum(node.role == MANAGER for node in nodes)
    if managers > 1 and managers % 2 == 0:
        return (f"{managers} managers: an even number above one adds no fault tolerance to the swarm's Raft "
                "quorum (all of 2 must be up, 3 of 4); fine as a step between 1, 3 and 5 managers",)
    return ()
