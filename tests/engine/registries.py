"""Which provider imitation serves which type: reaching nothing (unit tests) or real test hosts (e2e)."""
from __future__ import annotations

from typing import Callable, Optional

from .providers import Registry
from .providers.cloud import FakeClouds, Hosts
from .providers.command import RemoteCommand
from .providers.docker import NETWORK, SERVICE, DockerProvider, Network, Service
from .providers.docker_local import CONTAINER, REMOTE_IMAGE, Container, RemoteImage
from .providers.fake import FakeCommands, FakeDocker

COMMAND, DOCKER = "command:remote:Command", "pulumi:providers:docker"
NETWORK_TYPE, SERVICE_TYPE = "docker:index/network:Network", "docker:index/service:Service"
CONTAINER_TYPE, IMAGE_TYPE = "docker:index/container:Container", "docker:index/remoteImage:RemoteImage"


def _registry(commands, docker: dict, clouds: FakeClouds) -> Registry:
    return Registry({COMMAND: commands, **docker, "azure-native:": clouds, "gcp:": clouds, "tls:": clouds,
                     "random:": clouds})


def fake_registry() -> tuple[Registry, FakeCommands, FakeClouds]:
    """Every type of the program, reaching nothing: commands and Docker only record what would run."""
    commands, clouds = FakeCommands(), FakeClouds()
    docker = {DOCKER: FakeDocker(), NETWORK_TYPE: FakeDocker(NETWORK), SERVICE_TYPE: FakeDocker(SERVICE),
              CONTAINER_TYPE: FakeDocker(CONTAINER), IMAGE_TYPE: FakeDocker(REMOTE_IMAGE)}
    return _registry(commands, docker, clouds), commands, clouds


def host_registry(addresses: Optional[Callable[[str], str]] = None, hosts: Optional[Hosts] = None
                  ) -> tuple[Registry, RemoteCommand, FakeClouds]:
    """Commands over real SSH, Docker through the manager's Engine API (local nodes: this machine's),
    clouds faked (VMs on `hosts`)."""
    commands, clouds = RemoteCommand(), FakeClouds(addresses, hosts, real_keys=True)
    docker = {DOCKER: DockerProvider(), NETWORK_TYPE: Network(), SERVICE_TYPE: Service(),
              CONTAINER_TYPE: Container(), IMAGE_TYPE: RemoteImage()}
    return _registry(commands, docker, clouds), commands, clouds
