"""Flink on the swarm: a docker provider on the manager, the network, jobmanager and taskmanagers.

The network is written as pulumi-docker 5.2 stores it after reading it back from Docker (the
bridged kreuzwerker/terraform-provider-docker v4.5, internal/provider/), so a later `pulumi up` with
nothing changed finds nothing to change (the services too: services.py):
- the network's IPAM config names the gateway Docker allocates (the subnet's first address): the
  element is a set hashed over subnet and gateway, every field ForceNew (resource_docker_network.go:
  99-137), and a read-back gateway the program did not write would replace the network, and with it
  every service (networks_advanced is ForceNew, resource_docker_service.go:707-734);
- the overlay's options are ignored in the diff: Docker adds its own vxlanid_list to what the program
  sets (resource_docker_network_funcs.go:193); a label carries the options instead, so changing them
  still replaces the network (labels are ForceNew).
"""
from __future__ import annotations

import hashlib
import ipaddress
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from . import hostargs, ports
from .config import Settings
from .config.types import NetworkSpec
from .config.topology import FLINK_ROLES, JOBMANAGER, WORKER
from .flinkstate import STATE_BIND, STATE_MOUNT, TASKMANAGER, FlinkState, flink_state
from .machines import Node
from .services import flink_properties, readiness, swarm_service
from .state import StateBucket
from .steps import node_command, script, script_text
from .swarm import SwarmCluster

MTU_OPTION = "com.docker.network.driver.mtu"  # moby libnetwork/drivers/overlay/ov_network.go:128-135
ZOOKEEPER = "zookeeper"
ZOOKEEPER_HEAP = "256m"
SQL_GATEWAY = "sql-gateway"
SQL_GATEWAY_HEAP = "512m"  # it plans statements and holds their results until fetched
FLINK_HOME = "/opt/flink"  # the official images' (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/Dockerfile:52)
# flink.python: the image each Flink node builds (scripts/flink-python.sh), under a tag that no registry
# serves ("localhost/"), so it never leaves the node.
PYTHON_IMAGE = "localhost/flink-swarm-pyflink"


def python_image(image: str) -> str:
    """The node-local tag of `image` with Python and PyFlink added; it names the image and the script
    that builds it, so a change of either builds anew (and updates the services)."""
    named = hashlib.sha256("\n".join([image, script_text("flink-python")]).encode())
    return f"{PYTHON_IMAGE}:{named.hexdigest()[:16]}"


class FlinkCluster(pulumi.ComponentResource):
    """The Flink jobmanager (one replica on the `jobmanager` node, with Flink's own ZooKeeper server and
    a state directory beside it, for high availability), one taskmanager per worker node, and Flink's
    SQL gateway beside the jobmanager (unless flink.sqlGateway is false).

    Everything goes through a docker provider that reaches the control manager's Docker daemon over SSH
    with the stack's ssh options (its key, the nodes' host keys). The provider, the network and
    ZooKeeper need only the control manager in the swarm (with its plugin), so they are made while the
    other nodes join; the jobmanager and taskmanagers wait until the swarm is formed (every node
    joined, labelled, with its plugin), and on destroy are removed before any node leaves. The steps,
    in order: images, network, state, ZooKeeper, jobmanager, taskmanagers, the SQL gateway, and the
    readiness steps: `up` returns when Flink serves (services.readiness).
    """

    def __init__(self, name: str, swarm: SwarmCluster, nodes: Sequence[Node], ssh_opts: pulumi.Input[list[str]],
                 settings: Settings, bucket: Optional[StateBucket] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:FlinkCluster", name, None, opts)
        self._swarm, self._settings, self._flink = swarm, settings, settings.flink
        self.jobmanager_node = jobmanager_node = next(n for n in nodes if n.role == JOBMANAGER)
        image, flink_image, built = self._images(nodes, jobmanager_node)
        self.network = self._network(ssh_opts, settings.network)
        state = flink_state(self, jobmanager_node, bucket, self._flink, self._on_manager)
        self.zookeeper = self._zookeeper(image, state)
        self.jobmanager = self._jobmanager(jobmanager_node, flink_image, built, state)
        self.taskmanager = self._taskmanagers(flink_image, built, state)
        self.sql_gateway = self._sql_gateway(flink_image, built, state) if self._flink.sql_gateway else None
        workers = sum(n.role == WORKER for n in nodes)
        tasks = {ZOOKEEPER: (self.zookeeper, 1), JOBMANAGER: (self.jobmanager, 1),
                 TASKMANAGER: (self.taskmanager, workers)}
        if self.sql_gateway:
            tasks[SQL_GATEWAY] = (self.sql_gateway, 1)
        readiness(self, jobmanager_node, swarm.control, tasks, [n.identity for n in nodes if n.role in FLINK_ROLES],
                  workers, workers * self._flink.task_slots, ports.SQL_GATEWAY if self.sql_gateway else None)

        # Flink's UI and REST API, and the SQL gateway's: a local node's; else through SSH
        self.ui_url, self.sql_gateway_url = (jobmanager_node.url(port) for port in (ports.FLINK_UI, ports.SQL_GATEWAY))
        self.jobmanager_address: pulumi.Output[str] = jobmanager_node.public_ip
        self.state_location: pulumi.Output[str] = state.location
        self.register_outputs({"uiUrl": self.ui_url})

    def _images(self, nodes: Sequence[Node], jobmanager_node: Node
                ) -> tuple[pulumi.Output[str], pulumi.Output[str], list[pulumi.Resource]]:
        """The Flink image pinned by digest, the image the Flink services run, and the steps that build it.

        `<node>-pull`: every node that runs Flink pulls the image as soon as Docker runs, while the
        swarm is still forming; only the services wait, for the jobmanager node's pull (its task
        could not start before it anyway), which prints the image pinned by digest. A wrong image
        fails early, naming the node.
        """
        pulls = {n.name: node_command(self, n, "pull", script("image-pull", *hostargs.image_pull(self._settings)),
                                      depends_on=[self._swarm.installs[n.name]])
                 for n in nodes if n.role in FLINK_ROLES}
        image = pulls[jobmanager_node.name].stdout.apply(str.strip)
        if not self._flink.python:
            return image, image, []
        # `<node>-python`: each Flink node builds the image with Python beside the pinned one, and
        # the jobmanager and taskmanagers run it by that tag. A task's pull of it fails fast (no
        # registry at localhost), and swarm runs the node's own image (moby daemon/cluster/executor/
        # container/controller.go:143-188); the provider's digest lookup at create only warns
        # (moby client/service_create.go:61-64, 95-100), so the spec keeps the tag.
        flink_image = image.apply(python_image)
        return image, flink_image, [node_command(self, n, "python", script("flink-python", image, flink_image),
                                                 depends_on=[pulls[n.name]]) for n in nodes if n.name in pulls]

    def _network(self, ssh_opts: pulumi.Input[list[str]], net: NetworkSpec) -> docker.Network:
        """The docker provider on the control manager, and the Flink network through it.

        A swarm network is allocated on the manager, through the manager's own plugin (moby/swarmkit
        manager/allocator/cnmallocator/networkallocator.go resolveDriver, loadDriver), and made on another
        node only as a task of it is prepared there (moby daemon/cluster/executor/container/adapter.go
        createNetworks): the network needs the control manager's plugin alone; the services, which wait
        for every node's, bring it to the others.
        """
        self.provider = docker.Provider(
            "manager", host=self._swarm.docker_host, ssh_opts=ssh_opts,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._swarm.control_ready))
        self._on_manager = pulumi.ResourceOptions(parent=self, provider=self.provider)
        options = {}
        if net.driver == "overlay":  # Docker takes the hosts' MTU and subtracts VXLAN (and ESP) itself
            options = {MTU_OPTION: str(net.mtu), **({"encrypted": "true"} if net.encrypted else {})}
        labels = {"flink-swarm.swarm": self._swarm.swarm_id,  # a swarm initialised anew needs a new network
                  **({"flink-swarm.options": ",".join(f"{k}={v}" for k, v in sorted(options.items()))}
                     if options else {})}
        return docker.Network(
            "flink-net", name="flink", attachable=True,
            driver=net.weave_driver if net.driver == "weave" else "overlay", options=options or None,
            labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in labels.items()],
            ipam_configs=[docker.NetworkIpamConfigArgs(
                subnet=net.subnet, gateway=str(ipaddress.ip_network(net.subnet)[1]))],
            opts=pulumi.ResourceOptions.merge(self._on_manager, pulumi.ResourceOptions(ignore_changes=["options"])))

    def _after_state(self, state: FlinkState, *more: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._on_manager, pulumi.ResourceOptions(depends_on=[state.step, *more]))

    def _zookeeper(self, image: pulumi.Input[str], state: FlinkState) -> docker.Service:
        """Flink's own ZooKeeper server, its data in the state directory."""
        return swarm_service(
            ZOOKEEPER, image, self.network, self._after_state(state),
            {"JVM_ARGS": f"-Xms{ZOOKEEPER_HEAP} -Xmx{ZOOKEEPER_HEAP}"},
            args=[f"{FLINK_HOME}/bin/flink-console.sh", "zookeeper", "--zkConfigFile", f"{STATE_MOUNT}/zoo.cfg",
                  "--peerId", "1"],
            mounts=[STATE_BIND])

    def _jobmanager(self, node: Node, image: pulumi.Input[str], built: list[pulumi.Resource],
                    state: FlinkState) -> docker.Service:
        """The jobmanager, after `<jobmanager node>-flink-stopped`.

        That step is delete-only, on the control manager: created after ZooKeeper and before the
        jobmanager, so a destroy removes the jobmanager, waits for its task to stop (it closes its
        ZooKeeper session as it stops) and only then removes ZooKeeper; the next `up`'s jobmanager is
        leader at once instead of waiting out an old session (scripts/flink-stopped.sh). The provider's
        delete does not wait: it removes the service and returns (it waits for containers only with
        stop_grace_period, and only on the manager's own daemon: kreuzwerker v4.5.0
        resource_docker_service_funcs.go:261-331), so the step waits for the swarm instead. It waits for
        the whole swarm too, and the jobmanager through it: no node leaves (or is drained, which would
        stop ZooKeeper) until the jobmanager has stopped.
        """
        stopped = node_command(self, node, "flink-stopped", None, on=self._swarm.control,
                               delete=script("flink-stopped"), depends_on=[self.zookeeper, *self._swarm.formed])
        return swarm_service(JOBMANAGER, image, self.network, self._after_state(state, *built, stopped), {
            "FLINK_PROPERTIES": flink_properties({
                **self._common(), "high-availability.storageDir": state.ha_dirs[JOBMANAGER],
                "rest.port": ports.FLINK_UI, "jobmanager.memory.process.size": self._flink.jobmanager_memory,
                "parallelism.default": self._flink.parallelism, **state.options}), **state.env},
            # the node's directory stays mounted with a bucket too: what ZooKeeper holds of jobs started
            # before a switch to a bucket points there
            mounts=[STATE_BIND], **state.run,
            # Host-mode publishing on the jobmanager node: Flink misbehaves behind the routing mesh.
            published=[docker.ServiceEndpointSpecPortArgs(
                name="ui", target_port=ports.FLINK_UI, published_port=ports.FLINK_UI, protocol="tcp",
                publish_mode="host")])

    def _taskmanagers(self, image: pulumi.Input[str], built: list[pulumi.Resource],
                      state: FlinkState) -> docker.Service:
        """One taskmanager per worker node (a global service), as workers come and go."""
        return swarm_service(TASKMANAGER, image, self.network, pulumi.ResourceOptions.merge(
            self._on_manager, pulumi.ResourceOptions(depends_on=[*built, *self._swarm.formed])), {
            "FLINK_PROPERTIES": flink_properties({
                **self._common(), "high-availability.storageDir": state.ha_dirs[TASKMANAGER],
                "taskmanager.rpc.port": ports.TASKMANAGER_RPC, "taskmanager.data.port": ports.TASKMANAGER_DATA,
                "taskmanager.numberOfTaskSlots": self._flink.task_slots,
                "taskmanager.memory.process.size": self._flink.taskmanager_memory, **state.options}),
            **state.env},
            **state.run, mode=docker.ServiceModeArgs(global_=True), role=WORKER)

    def _sql_gateway(self, image: pulumi.Input[str], built: list[pulumi.Resource], state: FlinkState) -> docker.Service:
        """Flink's SQL gateway (its `sql-gateway.sh`, same image) beside the jobmanager: it plans SQL and
        submits the jobs to the jobmanager's REST API, with the cluster's state and flink.settings options
        (the jobs' checkpoints go where the jar jobs' go). Its REST endpoint is published on the node as
        Flink's is, answering only on the node's loopback (ports.TABLE `flink-sql-gateway`)."""
        return swarm_service(SQL_GATEWAY, image, self.network, self._after_state(state, *built), {
            "FLINK_PROPERTIES": flink_properties({
                # no high-availability options: the client finds the REST API by rest.address (not
                # through ZooKeeper, where the jobmanager's 0.0.0.0 is all it would read)
                "jobmanager.rpc.address": JOBMANAGER, "rest.address": JOBMANAGER, "rest.port": ports.FLINK_UI,
                "execution.target": "remote", "sql-gateway.endpoint.rest.address": SQL_GATEWAY,
                "sql-gateway.endpoint.rest.bind-address": "0.0.0.0",
                "sql-gateway.endpoint.rest.port": ports.SQL_GATEWAY, **state.options}),
            "JVM_ARGS": f"-Xms{SQL_GATEWAY_HEAP} -Xmx{SQL_GATEWAY_HEAP}", **state.env},
            # the image's entrypoint applies FLINK_PROPERTIES, then runs a command it does not know as given
            # (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/docker-entrypoint.sh:153, 187-190)
            args=[f"{FLINK_HOME}/bin/sql-gateway.sh", "start-foreground"], **state.run,
            published=[docker.ServiceEndpointSpecPortArgs(
                name="sql", target_port=ports.SQL_GATEWAY, published_port=ports.SQL_GATEWAY, protocol="tcp",
                publish_mode="host")])

    @staticmethod
    def _common() -> dict[str, object]:
        """The Flink options both services share: addresses and ports, and ZooKeeper high availability."""
        return {"jobmanager.rpc.address": JOBMANAGER, "jobmanager.rpc.port": ports.JOBMANAGER_RPC,
                "blob.server.port": ports.BLOB_SERVER, "query.server.port": ports.QUERY_SERVER,
                "high-availability.type": "zookeeper",
                "high-availability.zookeeper.quorum": f"{ZOOKEEPER}:{ports.ZOOKEEPER_CLIENT}",
                # with high availability the jobmanager takes this port (default "0": random), not
                # jobmanager.rpc.port (apache/flink release-1.20 flink-runtime/src/main/java/org/apache/
                # flink/runtime/entrypoint/ClusterEntrypoint.java:374-379, 442-447)
                "high-availability.jobmanager.port": ports.JOBMANAGER_RPC}
