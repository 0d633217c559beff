"""A service on the swarm (Flink's, monitoring's), as pulumi-docker 5.2 stores it after reading it back from Docker (the
bridged kreuzwerker/terraform-provider-docker v4.5, internal/provider/), so a later `pulumi up` with
nothing changed finds nothing to change:
- durations in the canonical form the provider reads back ("1m", not "60s": shortDur,
  resource_docker_service_structures.go:1341-1350);
- the image pinned by digest (the jobmanager node's pull resolves it): the provider pins a tag at
  create and not at update (resource_docker_service_funcs.go:45, 185-190), so a tag would update
  both services on the next `up`; the platforms Docker records from the registry are ignored.
"""
from __future__ import annotations

import hashlib
from typing import Optional

import pulumi
import pulumi_docker as docker

from . import ports
from .config.topology import JOBMANAGER
from .machines import Node
from .steps import node_command, script

HOST_NETWORK = "host"  # swarm's predefined network: a task on it shares its node's network stack
# A Docker config or secret named by a digest of its content is made anew beside the old one, which goes
# once the services have moved: the bridge would delete a named resource first (pulumi-terraform-bridge
# tfbridge/schema.go), and with it replace every service that uses it; the resource's own option wins
# (pulumi pkg/resource/deploy/step_generator.go:2043-2046).
MADE_BESIDE = pulumi.ResourceOptions(delete_before_replace=False)
READY_TIMEOUT = 600  # seconds each readiness step waits (flink-ready, flink-serving) before it fails


def flink_properties(props: dict[str, pulumi.Input[object]]) -> pulumi.Output[str]:
    """FLINK_PROPERTIES: one `key: value` a line (the image's entrypoint merges them into its config)."""
    return pulumi.Output.all(*props.values()).apply(
        lambda values: "".join(f"{key}: {value}\n" for key, value in zip(props, values)))


def swarm_service(name: str, image: pulumi.Input[str], network: Optional[docker.Network],
                  opts: pulumi.ResourceOptions, env: dict[str, pulumi.Input[str]], *, args: Optional[list[str]] = None,
                  command: Optional[list[pulumi.Input[str]]] = None, mounts: Optional[list] = None,
                  secrets: Optional[list] = None, configs: Optional[list] = None,
                  mode: Optional[docker.ServiceModeArgs] = None, role: Optional[str] = JOBMANAGER,
                  node: Optional[str] = None,
                  published: Optional[list[docker.ServiceEndpointSpecPortArgs]] = None) -> docker.Service:
    """A service (one replica unless `mode` says otherwise) on the network, placed by node label (the
    node named `node`, else the nodes of `role`, else anywhere), with dnsrr endpoints (no VIP/IPVS); it
    runs the image's `name` command unless `args` (through `command` instead of the image's
    entrypoint, if given). Without a network, on each node's host network (swarm's predefined `host`,
    which the Engine resolves to the swarm's own network of that name: moby daemon/cluster/
    networks.go:330-343, so the provider reads back another id and the attachment is not diffed)."""
    constraints = [f"node.labels.name == {node}"] if node else [f"node.labels.role == {role}"] if role else None
    attach = (docker.ServiceTaskSpecNetworksAdvancedArgs(id=network.id, aliases=[name]) if network
              else docker.ServiceTaskSpecNetworksAdvancedArgs(id=HOST_NETWORK))
    return docker.Service(
        name, name=name,
        mode=mode or docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=1)),
        task_spec=docker.ServiceTaskSpecArgs(
            container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                image=image, commands=command, args=[name] if args is None else args, env=env, mounts=mounts,
                secrets=secrets, configs=configs),
            placement=docker.ServiceTaskSpecPlacementArgs(constraints=constraints),
            networks_advanceds=[attach],
            restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(condition="any", delay="5s", window="1m")),
        endpoint_spec=docker.ServiceEndpointSpecArgs(mode="dnsrr", ports=published),
        # stop-first: one task per node, and the jobmanager's host port can't be held twice.
        update_config=docker.ServiceUpdateConfigArgs(parallelism=1, delay="10s", order="stop-first",
                                                     failure_action="rollback", monitor="30s"),
        rollback_config=docker.ServiceRollbackConfigArgs(parallelism=1, order="stop-first"),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            ignore_changes=["taskSpec.placement.platforms", *([] if network else ["taskSpec.networksAdvanceds"])])))


def tasks_ready(tasks: dict[str, tuple[docker.Service, int]], machines: list[pulumi.Input[str]],
                *more: object) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """The command that waits, on the control manager, until each service (`tasks`: by name, with how
    many tasks) runs its tasks of its current spec (scripts/flink-ready.sh), and the revision it
    checks: a digest of the services' specs, the counts, the identities of the `machines` that run
    them and `more`, so a step running it runs again exactly when one of those changes."""
    counts = [f"{name}={count}" for name, (_, count) in tasks.items()]
    revision = pulumi.Output.all(*(pulumi.Output.json_dumps(s.task_spec) for s, _ in tasks.values()), *machines).apply(
        lambda parts: hashlib.sha256("\n".join([*parts, *counts, *map(str, more)]).encode()).hexdigest()[:16])
    return script("flink-ready", READY_TIMEOUT, revision, *counts), revision


def readiness(parent: pulumi.Resource, jobmanager: Node, control: Node,
              tasks: dict[str, tuple[docker.Service, int]], machines: list[pulumi.Input[str]], taskmanagers: int,
              slots: int, sql_gateway: Optional[int] = None) -> pulumi.Resource:
    """`up` returns when Flink serves, or fails saying why: `<jobmanager node>-flink-ready`, on the
    control manager, waits until each service (`tasks`: by name, with how many tasks) runs its tasks of its current spec
    (scripts/flink-ready.sh); then `<jobmanager node>-flink-serving`, on the jobmanager's node, until
    its REST API counts `taskmanagers` taskmanagers and `slots` slots, and the SQL gateway (on port
    `sql_gateway`, if it runs) answers (scripts/flink-serving.sh).

    Not the provider's `convergeConfig`: in the bridged kreuzwerker v4.5.0 (internal/provider/
    resource_docker_service_funcs.go) it counts replicas only, failing a global service such as the
    taskmanagers with "no replica count" (:511-512), deletes a service that did not converge at create
    (:66-69), and knows nothing of Flink's registered taskmanagers.

    Both take a digest of the services' specs, the counts and the identities of the `machines` that run
    Flink: they run again exactly when a service changes or a Flink node does (added, removed, its
    machine replaced), and an `up` with nothing changed runs (and waits for) neither.
    """
    wait, revision = tasks_ready(tasks, machines, slots)
    ready = node_command(parent, jobmanager, "flink-ready", wait, on=control,
                         depends_on=[service for service, _ in tasks.values()])
    return node_command(parent, jobmanager, "flink-serving", script(
        "flink-serving", READY_TIMEOUT, ports.FLINK_UI, JOBMANAGER, taskmanagers, slots, revision,
        *([sql_gateway] if sql_gateway else [])), depends_on=[ready])
