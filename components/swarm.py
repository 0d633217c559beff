"""The swarm: Docker on every node, one swarm advertising public IPs, node labels, the Weave plugin.

Every step is a host step (`steps.py`): a script from `components/scripts/` run over SSH.
Secrets (join tokens, the Weave password) travel on stdin, never in the command.
"""
from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_random as random
from pulumi_command import remote

from . import ports
from .config import Settings
from .nodes import Node
from .steps import node_command, script

WEAVE_DOCKER_API = "1.26"


class SwarmCluster(pulumi.ComponentResource):
    """One swarm over all nodes, the same on every cloud.

    Per node: `<node>-docker` (install), then `<node>-join` (or `<leader>-swarm-init` on the first
    manager), then, once it is in the swarm, `<node>-weave` (plugin). On the first manager:
    `<leader>-tokens`, one `<leader>-labels` for all nodes, and per other node a delete-only
    `<node>-member` (drain, demote, remove). Joins wait for the manager's tokens, never for each other.

    Day two: a node's steps run again when its machine is new; a join follows the swarm it joins
    (`swarm_id`), so a swarm initialised anew is joined anew; `<node>-member` follows the node's swarm
    id, so the entry of a node that joined again is removed.
    """

    def __init__(self, name: str, nodes: Sequence[Node], settings: Settings,
                 cluster_sources: pulumi.Output[list[str]], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:SwarmCluster", name, None, opts)
        leader = next(n for n in nodes if n.role == "manager")
        firewalls = self._host_firewalls(nodes, settings, cluster_sources)
        self.installs: dict[str, remote.Command] = {  # Docker is running on the node
            n.name: self._install(n, settings, [*n.booted, *([firewalls[n.name]] if n.name in firewalls else [])])
            for n in nodes}
        in_swarm = self._form(leader, nodes)
        # Labels for every node in one session on the manager (not one SSH session per node);
        # per node, a delete-only `<node>-member` drains, demotes and removes it when it goes.
        node_ids = {n.name: in_swarm[n.name].stdout.apply(str.strip) for n in nodes}
        pairs = [pulumi.Output.concat(node_ids[n.name], "=", ",".join(f"{k}={v}" for k, v in sorted(n.labels.items())))
                 for n in nodes]
        labels = node_command(self, leader, "labels", script("node-labels", *pairs))
        members = [node_command(self, n, "member", None, on=leader, delete=script("node-remove", node_ids[n.name]),
                                triggers=[node_ids[n.name]])
                   for n in nodes if n is not leader]
        plugins = self._weave(nodes, settings, in_swarm) if settings.network.driver == "weave" else []

        self.formed: list[pulumi.Resource] = [labels, *members, *plugins]  # every node joined, labelled, networked
        self.manager_address: pulumi.Output[str] = leader.public_ip
        conn = leader.connection
        self.docker_host: pulumi.Output[str] = pulumi.Output.format("ssh://{0}@{1}:{2}", conn.user, conn.host,
                                                                    conn.port)
        self.register_outputs({"managerAddress": self.manager_address, "dockerHost": self.docker_host})

    def _host_firewalls(self, nodes: Sequence[Node], settings: Settings,
                        cluster_sources: pulumi.Output[list[str]]) -> dict[str, remote.Command]:
        """Static hosts get the port table on the host (cloud nodes have their cloud's firewall), before
        Docker opens any port, unless their owner manages their firewall (`firewall: false`)."""
        table = [f"{rule.protocol}:{','.join(rule.ports)}:{rule.scope}"
                 for _, rule in ports.rules_for(settings.network)]
        rules = script("host-firewall", "apply", cluster_sources.apply(",".join), ",".join(settings.admin_cidrs),
                       *table)
        return {n.name: node_command(self, n, "firewall", rules, delete=script("host-firewall", "remove"),
                                     depends_on=list(n.booted))
                for n in nodes if n.cloud == "static" and n.spec.firewall}

    def _install(self, node: Node, settings: Settings, after: list[pulumi.Resource]) -> remote.Command:
        # The Weave plugin's weaveutil speaks API 1.26 (weaveworks/weave prog/weaveutil/swarm.go:11) under
        # `set -e` (prog/net-plugin/launch.sh:3, 28): Engine 29 refuses it unless its minimum is lowered.
        min_api = WEAVE_DOCKER_API if settings.network.driver == "weave" else "-"
        return node_command(self, node, "docker", script(
            "docker-install", settings.docker_install, settings.docker_version or "-", node.connection.user,
            min_api), depends_on=after)

    def _form(self, leader: Node, nodes: Sequence[Node]) -> dict[str, remote.Command]:
        """`swarm init` on the first manager, every other node joins it: node name -> its step (stdout: node id)."""
        init = node_command(self, leader, "swarm-init", script("swarm-init", leader.public_ip),
                            delete=script("swarm-leave"), depends_on=[self.installs[leader.name]], undoes_itself=True)
        # The first manager's node id: new whenever the swarm is initialised anew.
        self.swarm_id: pulumi.Output[str] = init.stdout.apply(str.strip)
        tokens = node_command(self, leader, "tokens", script("swarm-tokens"), depends_on=[init], secret_stdout=True,
                              triggers=[self.swarm_id])
        worker_token = pulumi.Output.secret(tokens.stdout.apply(lambda out: out.split()[0] + "\n"))
        manager_token = pulumi.Output.secret(tokens.stdout.apply(lambda out: out.split()[1] + "\n"))
        manager_endpoint = pulumi.Output.concat(leader.public_ip, ":", str(ports.SWARM_MANAGEMENT))
        in_swarm: dict[str, remote.Command] = {leader.name: init}
        for n in nodes:
            if n is not leader:
                in_swarm[n.name] = node_command(
                    self, n, "join", script("swarm-join", n.public_ip, manager_endpoint),
                    stdin=manager_token if n.role == "manager" else worker_token,
                    delete=script("swarm-leave"), depends_on=[self.installs[n.name]], triggers=[self.swarm_id],
                    undoes_itself=True)
        return in_swarm

    def _weave(self, nodes: Sequence[Node], settings: Settings,
               in_swarm: dict[str, remote.Command]) -> list[remote.Command]:
        """The Weave Net plugin on every node once it is in the swarm; the password on stdin."""
        password = settings.weave_password
        if password is None:
            password = random.RandomPassword("weave-password", length=32, special=False,
                                             opts=pulumi.ResourceOptions(parent=self)).result
        net = settings.network
        return [node_command(self, n, "weave", script("weave-plugin", net.weave_plugin, net.subnet, net.weave_mtu),
                             stdin=pulumi.Output.secret(pulumi.Output.concat(password, "\n")),
                             depends_on=[in_swarm[n.name]])
                for n in nodes]
