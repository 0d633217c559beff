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
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_docker as docker

from . import hostargs, ports
from .config import Settings
from .config.types import NetworkSpec
from .config.topology import FLINK_ROLES, JOBMANAGER, WORKER
from .machines import Node
from .services import MADE_BESIDE, flink_properties, readiness, swarm_service
from .state import StateBucket
from .steps import node_command, script, script_text
from .swarm import SwarmCluster

MTU_OPTION = "com.docker.network.driver.mtu"  # moby libnetwork/drivers/overlay/ov_network.go:128-135
TASKMANAGER = "taskmanager"
ZOOKEEPER = "zookeeper"
STATE_DIR = "/var/lib/flink-swarm/state"  # the jobmanager's durable state, on its node ...
STATE_MOUNT = "/flink-state"  # ... and in the jobmanager's and ZooKeeper's containers
STATE_BIND = docker.ServiceTaskSpecContainerSpecMountArgs(type="bind", source=STATE_DIR, target=STATE_MOUNT)
# The official images' flink user and group (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/Dockerfile:54-55).
FLINK_UID = 9999
TASKMANAGER_HA_DIR = "/tmp/flink-swarm-ha"
FLINK_HOME = "/opt/flink"  # the same Dockerfile's FLINK_HOME
ENTRYPOINT = "/docker-entrypoint.sh"  # ... and its ENTRYPOINT (Dockerfile:101)
STATE_KEY_FILE = "/run/secrets/flink-state-key"  # flink.state gcs/azure: the bucket's key, a Docker secret
ZOOKEEPER_HEAP = "256m"
# flink.python: the image each Flink node builds (scripts/flink-python.sh), under a tag that no registry
# serves ("localhost/"), so it never leaves the node.
PYTHON_IMAGE = "localhost/flink-swarm-pyflink"


def python_image(image: str) -> str:
    """The node-local tag of `image` with Python and PyFlink added; it names the image and the script
    that builds it, so a change of either builds anew (and updates the services)."""
    named = hashlib.sha256("\n".join([image, script_text("flink-python")]).encode())
    return f"{PYTHON_IMAGE}:{named.hexdigest()[:16]}"


@dataclass
class FlinkState:
    """Where the cluster keeps its durable state, as the services see it (`FlinkCluster._state`)."""

    step: pulumi.Resource  # `<jobmanager node>-state`: the directory on the node, before anything mounts it
    location: pulumi.Output[str]  # the stack's `flinkState` output
    ha_dirs: dict[str, pulumi.Input[str]]  # service -> high-availability.storageDir
    options: dict[str, pulumi.Input[str]]  # the state.* Flink options, with flink.settings over them
    run: dict[str, Any] = field(default_factory=dict)  # how the Flink services start (with a bucket: its key)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class FlinkCluster(pulumi.ComponentResource):
    """The Flink jobmanager (one replica on the `jobmanager` node, with Flink's own ZooKeeper server and
    a state directory beside it, for high availability) and one taskmanager per worker node.

    Everything goes through a docker provider that reaches the control manager's Docker daemon over SSH
    with the stack's ssh options (its key, the nodes' host keys). The provider, the network and
    ZooKeeper need only the control manager in the swarm (with its plugin), so they are made while the
    other nodes join; the jobmanager and taskmanagers wait until the swarm is formed (every node
    joined, labelled, with its plugin), and on destroy are removed before any node leaves. The steps,
    in order: images, network, state, ZooKeeper, jobmanager, taskmanagers, and the readiness steps:
    `up` returns when Flink serves (services.readiness).
    """

    def __init__(self, name: str, swarm: SwarmCluster, nodes: Sequence[Node], ssh_opts: pulumi.Input[list[str]],
                 settings: Settings, bucket: Optional[StateBucket] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:FlinkCluster", name, None, opts)
        self._swarm, self._settings, self._flink = swarm, settings, settings.flink
        self.jobmanager_node = jobmanager_node = next(n for n in nodes if n.role == JOBMANAGER)
        image, flink_image, built = self._images(nodes, jobmanager_node)
        self.network = self._network(ssh_opts, settings.network)
        state = self._state(jobmanager_node, bucket)
        self.zookeeper = self._zookeeper(image, state)
        self.jobmanager = self._jobmanager(jobmanager_node, flink_image, built, state)
        self.taskmanager = self._taskmanagers(flink_image, built, state)
        workers = sum(n.role == WORKER for n in nodes)
        readiness(self, jobmanager_node, swarm.control, {
            ZOOKEEPER: (self.zookeeper, 1), JOBMANAGER: (self.jobmanager, 1), TASKMANAGER: (self.taskmanager, workers)},
            [n.identity for n in nodes if n.role in FLINK_ROLES], workers, workers * self._flink.task_slots)

        ui = jobmanager_node.reach(ports.FLINK_UI)  # Flink's UI and REST API: a local node's; else through SSH
        self.ui_url = pulumi.Output.concat("http://", ui[0], ":", str(ui[1])) if ui else None
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
            driver=net.weave_plugin if net.driver == "weave" else "overlay", options=options or None,
            labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in labels.items()],
            ipam_configs=[docker.NetworkIpamConfigArgs(
                subnet=net.subnet, gateway=str(ipaddress.ip_network(net.subnet)[1]))],
            opts=pulumi.ResourceOptions.merge(self._on_manager, pulumi.ResourceOptions(ignore_changes=["options"])))

    def _state(self, jobmanager_node: Node, bucket: Optional[StateBucket]) -> FlinkState:
        """Durable jobs: Flink's own ZooKeeper server (same image) runs beside the jobmanager, keeping its
        data in a directory on that node, and the jobs' checkpoints, savepoints and high-availability
        metadata go to that directory too (`jobmanager` checkpoint storage: only the jobmanager writes
        files) or to a bucket (flink.state gcs or azure), which the taskmanagers write to as well."""
        step = node_command(self, jobmanager_node, "state", script(
            "flink-state", STATE_DIR, FLINK_UID, STATE_MOUNT, ports.ZOOKEEPER_CLIENT))
        if bucket is None:
            # A taskmanager only reads the jobmanager's blobs from the HA directory, falling back to its blob
            # server (AbstractBlobCache.getFileInternal); Flink before 1.18 also creates the directory as it
            # starts (FileSystemBlobStore's constructor; lazy since FLINK-31656). So: a directory of its
            # own container, which any flink.image can make, and where no state can hide.
            return FlinkState(step, pulumi.Output.from_input(f"{jobmanager_node.name}:{STATE_DIR}"),
                              {JOBMANAGER: f"file://{STATE_MOUNT}/ha", TASKMANAGER: f"file://{TASKMANAGER_HA_DIR}"},
                              self._state_options(f"file://{STATE_MOUNT}", "jobmanager"))
        # Docker secrets cannot change: a new key is a new secret (named by a digest of it, which tells
        # nothing of it), which the services move to before the old one goes.
        key = docker.Secret("flink-state-key", name=pulumi.Output.unsecret(bucket.credential.apply(
            lambda c: "flink-state-key-" + hashlib.sha256(c.encode()).hexdigest()[:12])),
            data=bucket.credential, opts=pulumi.ResourceOptions.merge(self._on_manager, MADE_BESIDE))
        run = {"command": ["bash", "-c", script_text("flink-state-entry"), "flink-state-entry", bucket.plugin,
                           STATE_KEY_FILE, bucket.azure_account or "-", ENTRYPOINT],
               "secrets": [docker.ServiceTaskSpecContainerSpecSecretArgs(
                   secret_id=key.id, secret_name=key.name, file_name=STATE_KEY_FILE, file_uid=str(FLINK_UID),
                   file_gid=str(FLINK_UID), file_mode=0o400)]}
        # GCS: the plugin reads the key file itself
        env = {"GOOGLE_APPLICATION_CREDENTIALS": STATE_KEY_FILE} if bucket.azure_account is None else {}
        return FlinkState(step, bucket.uri, dict.fromkeys((JOBMANAGER, TASKMANAGER), pulumi.Output.concat(
            bucket.uri, "/ha")), self._state_options(bucket.uri, "filesystem"), run, env)

    def _state_options(self, where: pulumi.Input[str], storage: str) -> dict[str, pulumi.Input[str]]:
        """The state.* Flink options for checkpoints and savepoints under `where`, flink.settings over them."""
        return dict(sorted({"state.checkpoint-storage": storage,
                            "state.checkpoints.dir": pulumi.Output.concat(where, "/checkpoints"),
                            "state.savepoints.dir": pulumi.Output.concat(where, "/savepoints"),
                            **self._flink.settings}.items()))

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
