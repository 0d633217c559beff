"""Where a Flink cluster keeps its durable state: the jobmanager node's directory, or a bucket.

Flink's own ZooKeeper server runs beside the jobmanager, keeping its data in a directory on that node,
and the jobs' checkpoints, savepoints and high-availability metadata go to that directory too
(`jobmanager` checkpoint storage: only the jobmanager writes files) or to a bucket (flink.state gcs or
azure), which the taskmanagers write to as well. `flink_state` makes the directory (a step on the node)
and, with a bucket, its key's Docker secret, and says how the Flink services use them (`FlinkState`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_docker as docker

from . import ports
from .config.types import FlinkSpec
from .config.topology import JOBMANAGER
from .machines import Node
from .services import MADE_BESIDE
from .state import StateBucket
from .steps import node_command, script, script_text

TASKMANAGER = "taskmanager"
STATE_DIR = "/var/lib/flink-swarm/state"  # the jobmanager's durable state, on its node ...
STATE_MOUNT = "/flink-state"  # ... and in the jobmanager's and ZooKeeper's containers
STATE_BIND = docker.ServiceTaskSpecContainerSpecMountArgs(type="bind", source=STATE_DIR, target=STATE_MOUNT)
# The official images' flink user and group (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/Dockerfile:54-55).
FLINK_UID = 9999
TASKMANAGER_HA_DIR = "/tmp/flink-swarm-ha"
ENTRYPOINT = "/docker-entrypoint.sh"  # the same Dockerfile's ENTRYPOINT (Dockerfile:101)
STATE_KEY_FILE = "/run/secrets/flink-state-key"  # flink.state gcs/azure: the bucket's key, a Docker secret


@dataclass
class FlinkState:
    """Where the cluster keeps its durable state, as the services see it."""

    step: pulumi.Resource  # `<jobmanager node>-state`: the directory on the node, before anything mounts it
    location: pulumi.Output[str]  # the stack's `flinkState` output
    ha_dirs: dict[str, pulumi.Input[str]]  # service -> high-availability.storageDir
    options: dict[str, pulumi.Input[str]]  # the state.* Flink options, with flink.settings over them
    run: dict[str, Any] = field(default_factory=dict)  # how the Flink services start (with a bucket: its key)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)


def flink_state(parent: pulumi.Resource, jobmanager_node: Node, bucket: Optional[StateBucket], flink: FlinkSpec,
                on_manager: pulumi.ResourceOptions) -> FlinkState:
    """The state directory on the jobmanager's node (`<node>-state`) and, with a bucket, its key as a
    Docker secret through the manager's provider (`on_manager`)."""
    step = node_command(parent, jobmanager_node, "state", script(
        "flink-state", STATE_DIR, FLINK_UID, STATE_MOUNT, ports.ZOOKEEPER_CLIENT))
    if bucket is None:
        # A taskmanager only reads the jobmanager's blobs from the HA directory, falling back to its blob
        # server (AbstractBlobCache.getFileInternal); Flink before 1.18 also creates the directory as it
        # starts (FileSystemBlobStore's constructor; lazy since FLINK-31656). So: a directory of its
        # own container, which any flink.image can make, and where no state can hide.
        return FlinkState(step, pulumi.Output.from_input(f"{jobmanager_node.name}:{STATE_DIR}"),
                          {JOBMANAGER: f"file://{STATE_MOUNT}/ha", TASKMANAGER: f"file://{TASKMANAGER_HA_DIR}"},
                          _options(flink, f"file://{STATE_MOUNT}", "jobmanager"))
    # Docker secrets cannot change: a new key is a new secret (named by a digest of it, which tells
    # nothing of it), which the services move to before the old one goes.
    key = docker.Secret("flink-state-key", name=pulumi.Output.unsecret(bucket.credential.apply(
        lambda c: "flink-state-key-" + hashlib.sha256(c.encode()).hexdigest()[:12])),
        data=bucket.credential, opts=pulumi.ResourceOptions.merge(on_manager, MADE_BESIDE))
    run = {"command": ["bash", "-c", script_text("flink-state-entry"), "flink-state-entry", bucket.plugin,
                       STATE_KEY_FILE, bucket.azure_account or "-", ENTRYPOINT],
           "secrets": [docker.ServiceTaskSpecContainerSpecSecretArgs(
               secret_id=key.id, secret_name=key.name, file_name=STATE_KEY_FILE, file_uid=str(FLINK_UID),
               file_gid=str(FLINK_UID), file_mode=0o400)]}
    # GCS: the plugin reads the key file itself
    env = {"GOOGLE_APPLICATION_CREDENTIALS": STATE_KEY_FILE} if bucket.azure_account is None else {}
    return FlinkState(step, bucket.uri, dict.fromkeys((JOBMANAGER, TASKMANAGER), pulumi.Output.concat(
        bucket.uri, "/ha")), _options(flink, bucket.uri, "filesystem"), run, env)


def _options(flink: FlinkSpec, where: pulumi.Input[str], storage: str) -> dict[str, pulumi.Input[str]]:
    """The state.* Flink options for checkpoints and savepoints under `where`, flink.settings over them."""
    return dict(sorted({"state.checkpoint-storage": storage,
                        "state.checkpoints.dir": pulumi.Output.concat(where, "/checkpoints"),
                        "state.savepoints.dir": pulumi.Output.concat(where, "/savepoints"),
                        **flink.settings}.items()))
