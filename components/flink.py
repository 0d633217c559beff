"""Flink on the swarm: a docker provider on the manager, the network, jobmanager and taskmanagers."""
from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from . import ports
from .config import Settings
from .nodes import Node
from .steps import node_command, script
from .swarm import SwarmCluster

JOBMANAGER = "jobmanager"  # service name, DNS name on the network, and the node role it runs on
TASKMANAGER = "taskmanager"


def flink_properties(props: dict[str, object]) -> str:
    """FLINK_PROPERTIES: one `key: value` a line (the image's entrypoint merges them into its config)."""
    return "".join(f"{key}: {value}\n" for key, value in props.items())


def ssh_options(key_file: str) -> list[str]:
    """ssh options for the docker CLI's SSH helper: the stack's key, no agent, no prompt, bounded dial.

    Host keys are not pinned, as with the remote commands (pulumi-command does not check them either).
    """
    return ["-i", key_file, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


class FlinkCluster(pulumi.ComponentResource):
    """The Flink jobmanager (one replica on the `jobmanager` node) and one taskmanager per worker node.

    Everything goes through a docker provider that reaches the first manager's Docker daemon over SSH
    with the stack's key file; it is created only once the swarm is formed (all nodes joined,
    labelled, plugins enabled).
    """

    def __init__(self, name: str, swarm: SwarmCluster, nodes: Sequence[Node], key_file: pulumi.Input[str],
                 settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:FlinkCluster", name, None, opts)
        net, fl = settings.network, settings.flink
        jobmanager_node = next(n for n in nodes if n.role == JOBMANAGER)

        # `<node>-pull`: every node that runs Flink pulls the image as soon as Docker runs, while the
        # swarm is still forming; nothing waits for it (the services would pull it anyway), so it
        # takes the download off the critical path and a wrong image fails early, naming the node.
        for n in nodes:
            if n.role in (JOBMANAGER, "worker"):
                node_command(self, n, "pull", script("image-pull", fl.image), depends_on=[swarm.installs[n.name]])

        self.provider = docker.Provider(
            "manager", host=swarm.docker_host,
            ssh_opts=pulumi.Output.from_input(key_file).apply(ssh_options),
            opts=pulumi.ResourceOptions(parent=self, depends_on=swarm.formed))
        on_manager = pulumi.ResourceOptions(parent=self, provider=self.provider)

        encrypted = net.driver == "overlay" and net.encrypted
        self.network = docker.Network(
            "flink-net", name="flink", attachable=True,
            driver=net.weave_plugin if net.driver == "weave" else "overlay",
            options={"encrypted": "true"} if encrypted else None,
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=net.subnet)], opts=on_manager)

        common = {"jobmanager.rpc.address": JOBMANAGER, "jobmanager.rpc.port": ports.JOBMANAGER_RPC,
                  "blob.server.port": ports.BLOB_SERVER, "query.server.port": ports.QUERY_SERVER}
        self.jobmanager = self._service(JOBMANAGER, fl.image, on_manager, flink_properties({
            **common, "rest.port": ports.FLINK_UI, "jobmanager.memory.process.size": fl.jobmanager_memory,
            "parallelism.default": fl.parallelism}),
            mode=docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=1)),
            # Host-mode publishing on the jobmanager node: Flink misbehaves behind the routing mesh.
            published=[docker.ServiceEndpointSpecPortArgs(
                name="ui", target_port=ports.FLINK_UI, published_port=ports.FLINK_UI, protocol="tcp",
                publish_mode="host")])
        self.taskmanager = self._service(TASKMANAGER, fl.image, on_manager, flink_properties({
            **common, "taskmanager.rpc.port": ports.TASKMANAGER_RPC,
            "taskmanager.data.port": ports.TASKMANAGER_DATA, "taskmanager.numberOfTaskSlots": fl.task_slots,
            "taskmanager.memory.process.size": fl.taskmanager_memory}),
            mode=docker.ServiceModeArgs(global_=True), role="worker")  # one per worker node, as workers come and go

        self.ui_url: pulumi.Output[str] = pulumi.Output.concat("http://", jobmanager_node.public_ip, ":",
                                                              str(ports.FLINK_UI))
        self.jobmanager_address: pulumi.Output[str] = jobmanager_node.public_ip
        self.register_outputs({"uiUrl": self.ui_url})

    def _service(self, name: str, image: str, opts: pulumi.ResourceOptions, properties: str, *,
                 mode: docker.ServiceModeArgs, role: str = JOBMANAGER,
                 published: Optional[list[docker.ServiceEndpointSpecPortArgs]] = None) -> docker.Service:
        """A Flink service on the network, placed by node label, with dnsrr endpoints (no VIP/IPVS)."""
        return docker.Service(
            name, name=name, mode=mode,
            task_spec=docker.ServiceTaskSpecArgs(
                container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                    image=image, args=[name], env={"FLINK_PROPERTIES": properties}),
                placement=docker.ServiceTaskSpecPlacementArgs(constraints=[f"node.labels.role == {role}"]),
                networks_advanceds=[docker.ServiceTaskSpecNetworksAdvancedArgs(id=self.network.id, aliases=[name])],
                restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s", window="60s")),
            endpoint_spec=docker.ServiceEndpointSpecArgs(mode="dnsrr", ports=published),
            # stop-first: one task per node, and the jobmanager's host port can't be held twice.
            update_config=docker.ServiceUpdateConfigArgs(parallelism=1, delay="10s", order="stop-first",
                                                         failure_action="rollback", monitor="30s"),
            rollback_config=docker.ServiceRollbackConfigArgs(parallelism=1, order="stop-first"),
            opts=opts)
