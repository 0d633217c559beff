"""Local nodes: containers on your own Docker Engine that behave like VMs (docs/hosts-and-images.md "Local hosts").

Each `cloud: local` node is a container of the node image (`local-host/Dockerfile` on
`local.baseImage`: sshd, sudo and its own Docker Engine) at a fixed address on a bridge network
the program makes, with an anonymous volume for its Engine's storage (made and removed with it).
Its sshd, and the jobmanager node's Flink UI, are published on 127.0.0.1 only: that works where
container addresses are not reachable from the deployer's machine (Docker Desktop), and nothing
is reachable from elsewhere, so local nodes need no firewall. The swarm advertises the containers'
own addresses, at which the nodes reach each other. The login key and the host key the program
made are uploaded before the container starts, as a cloud's user data gives them to a VM; a
replaced container is a blank host, as a replaced VM is.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping

import pulumi
import pulumi_docker as docker
import pulumi_tls as tls

from . import ports
from .config import Settings
from .config.topology import JOBMANAGER, LOCAL
from .machines import Machine

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = ROOT / "components" / "local-host"  # the host image's Dockerfile and files
LOOPBACK = "127.0.0.1"  # where the nodes' ports are published
LABEL = "flink-swarm.stack"  # on every container, volume and network: `docker ps --filter label=...`
# What a node needs beyond Docker's default capabilities to run its own Docker Engine, and why (not
# --privileged, which grants every capability and every device):
CAPABILITIES = ["SYS_ADMIN",  # mounts (overlayfs, /sys and the cgroups remounted read-write), namespaces
                "NET_ADMIN",  # bridges, veths, VXLAN for the overlay, iptables
                "SYS_PTRACE"]  # `docker exec` into its containers' processes of another user
# Not `systempaths=unconfined`: the provider drops it at create and stores what Docker has, so it
# would differ on every `up` and replace the node (kreuzwerker/terraform-provider-docker v4.5.0
# internal/provider/resource_docker_container_funcs.go:327-332, 854); the entrypoint remounts /proc/sys.
SECURITY_OPTS = ["seccomp=unconfined",  # the inner runc's unshare, mount and keyctl calls
                 "apparmor=unconfined"]  # the inner dockerd's mounts (docker-default forbids them)
DEVICE_RULES = ["a *:* rwm"]  # the inner containers' /dev (null, zero, pts, ...)


def context_digest() -> str:
    """A digest of the host image's build context: a change of any of its files rebuilds the image."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CONTEXT.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(CONTEXT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class LocalNodes(pulumi.ComponentResource):
    """The stack's local nodes: one Docker network, the host image, and a container per node.

    Names are `<namePrefix>-<node>` (container names are the Engine's, shared by every stack on it).
    """

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flink-swarm:local:Nodes", name, None, opts)
        self._settings = settings
        local = settings.local
        engine = docker.Provider("engine", host=local.docker_host, opts=pulumi.ResourceOptions(parent=self))
        self._child = pulumi.ResourceOptions(parent=self, provider=engine)
        self.private_range: str = local.subnet
        self.public_ips: dict[str, pulumi.Output[str]] = {
            spec.name: pulumi.Output.from_input(local.address(k)) for k, spec in enumerate(settings.of_cloud(LOCAL))}

    def machines(self, cluster_sources: pulumi.Output[list[str]], public_key: pulumi.Input[str],
                 host_keys: Mapping[str, tls.PrivateKey]) -> dict[str, Machine]:
        """The network, the image, and a container per node."""
        s, local, prefix = self._settings, self._settings.local, self._settings.name_prefix
        labels = [docker.NetworkLabelArgs(label=LABEL, value=s.stack)]
        # The gateway given: Docker reports the one it picks, which would differ from none (ForceNew).
        network = docker.Network("network", name=f"{prefix}-nodes", driver="bridge", labels=labels,
                                 ipam_configs=[docker.NetworkIpamConfigArgs(subnet=local.subnet,
                                                                            gateway=local.gateway)],
                                 opts=self._child)
        digest = context_digest()
        image = docker.RemoteImage(
            "host-image", name=f"flink-swarm-node:{digest}", keep_locally=False,
            # Relative to the project (the provider's working directory): the same in every checkout.
            build=docker.RemoteImageBuildArgs(context=str(CONTEXT.relative_to(ROOT)), build_args={
                "BASE_IMAGE": local.base_image, "SSH_USER": s.ssh_user}, labels={LABEL: s.stack}),
            triggers={"context": digest}, opts=self._child)
        out = {}
        for k, spec in enumerate(s.of_cloud(LOCAL)):
            published = {ports.SSH: (LOOPBACK, local.ssh_port + k)}
            if spec.role == JOBMANAGER:
                published[ports.FLINK_UI] = (LOOPBACK, local.ui_port)
                if s.flink.sql_gateway:
                    published[ports.SQL_GATEWAY] = (LOOPBACK, local.sql_gateway_port)
                if s.spark.enabled:
                    published[ports.SPARK_UI] = (LOOPBACK, local.spark_ui_port)
            if spec.name == s.control_manager and s.monitoring.enabled:  # where monitoring runs
                published[ports.PROMETHEUS] = (LOOPBACK, local.prometheus_port)
                if s.monitoring.grafana:
                    published[ports.GRAFANA] = (LOOPBACK, local.grafana_port)
            container = docker.Container(
                f"{spec.name}-node", name=f"{prefix}-{spec.name}", hostname=spec.name, image=image.image_id,
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name,
                                                                        ipv4_address=local.address(k))],
                ports=[docker.ContainerPortArgs(internal=inner, external=outer, ip=host)
                       for inner, (host, outer) in sorted(published.items())],
                # Anonymous: the inner Engine's storage (its swarm state too) goes with the container,
                # as a VM's disk with the VM; the provider removes it with the container (remove_volumes).
                volumes=[docker.ContainerVolumeArgs(container_path="/var/lib/docker")],
                capabilities=docker.ContainerCapabilitiesArgs(adds=CAPABILITIES),
                security_opts=SECURITY_OPTS, device_cgroup_rules=DEVICE_RULES,
                restart="unless-stopped",  # back after the Engine restarts, as a VM after a reboot
                uploads=[docker.ContainerUploadArgs(file=f"/home/{s.ssh_user}/.ssh/authorized_keys",
                                                    content=pulumi.Output.concat(public_key, "\n")),
                         docker.ContainerUploadArgs(file="/etc/ssh/ssh_host_ed25519_key",
                                                    content=pulumi.Output.secret(
                                                        host_keys[spec.name].private_key_openssh))],
                labels=[docker.ContainerLabelArgs(label=LABEL, value=s.stack)],
                opts=self._child)
            # Its id is new whenever the container is (a replaced container is a blank host).
            out[spec.name] = Machine(self.public_ips[spec.name], [container], container.id, published)
        self.register_outputs({})
        return out
