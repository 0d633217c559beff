"""Each host script's arguments, built in one place: a cloud node's boot (boot.py) runs some of the
scripts the SSH steps run (swarm.py, flink.py), and both take their arguments from here."""
from __future__ import annotations

from pulumi import Input

from .config import NodeSpec, Settings
from .config.topology import FLINK_ROLES

# The Weave plugin's weaveutil speaks API 1.26 (weaveworks/weave prog/weaveutil/swarm.go:11) under
# `set -e` (prog/net-plugin/launch.sh:3, 28): Engine 29 refuses it unless its minimum is lowered.
WEAVE_DOCKER_API = "1.26"


def docker_install(settings: Settings, user: str) -> list[str]:
    """docker-install.sh's: package, version (or -), the user to add to `docker`, minimum API (or -)."""
    min_api = WEAVE_DOCKER_API if settings.network.driver == "weave" else "-"
    return [settings.docker_install, settings.docker_version or "-", user, min_api]


def image_pull(settings: Settings) -> list[str]:
    """image-pull.sh's, on the nodes whose role runs Flink: the Flink image."""
    return [settings.flink.image]


def weave_pin(settings: Settings) -> list[str]:
    """weave-pin.sh's, with the Weave driver: the plugin as the config gives it."""
    return [settings.network.weave_plugin]


def weave_plugin(settings: Settings, pinned: Input[str]) -> list[Input[object]]:
    """weave-plugin.sh's, with the Weave driver: the plugin pinned (weave-pin.sh's), the containers'
    subnet and MTU."""
    net = settings.network
    return [pinned, net.subnet, net.weave_mtu]


def first_boot(spec: NodeSpec, settings: Settings) -> list[str]:
    """first-boot.sh's: docker-install.sh's, then what the node's `-pull` and `-weave` steps will fetch (or -):
    the plugin as the config gives it, the stack's pin being made later, on the control manager."""
    image = image_pull(settings)[0] if spec.role in FLINK_ROLES else "-"
    plugin = weave_pin(settings)[0] if settings.network.driver == "weave" else "-"
    return [*docker_install(settings, settings.ssh_user), image, plugin]
