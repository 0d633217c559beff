"""The swarm: Docker on every node, one swarm advertising public IPs, node labels, the Weave plugin.

Every step is a host step (`steps.py`): a script from `components/scripts/` run over SSH.
Secrets (join tokens, the Weave password) travel on stdin, never in the command.
"""
from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_random as random
from pulumi_command import remote

from . import hostargs, ports
from .config import Settings
from .config.topology import MANAGER, STATIC
from .machines import Node
from .steps import control_command, node_command, script


class SwarmCluster(pulumi.ComponentResource):
    """One swarm over all nodes, the same on every cloud, controlled through one manager.

    Per node: `<node>-firewall` (static hosts), `<node>-docker` (install), `<node>-join` (every node,
    managers with the manager token), then `<node>-weave` (plugin). On the control manager
    (`controlManager`, default the first manager): `swarm-init` (initialises the swarm where none is;
    prints its cluster id), `swarm-tokens`, one `swarm-labels` for all nodes, `swarm-weave-pin` (the
    plugin's digest), and per other node a delete-only `<node>-member` (drain, demote, remove). Joins
    wait for the tokens, never for each other.

    Day two: a node's steps run again when its machine is new; a join follows the swarm it joins (its
    cluster id), so a swarm initialised anew is joined anew; `<node>-member` follows the node's id, so
    the entry of a node that joined again is removed. Moving control to another manager (the first one
    is down, say) runs the control steps there and points the docker provider there: no node step,
    network or service changes.
    """

    def __init__(self, name: str, nodes: Sequence[Node], settings: Settings,
                 cluster_sources: pulumi.Output[list[str]], opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:SwarmCluster", name, None, opts)
        control = next(n for n in nodes if n.name == settings.control_manager)
        firewalls = self._host_firewalls(nodes, settings, cluster_sources)
        self.installs: dict[str, remote.Command] = {  # Docker is running on the node
            n.name: self._install(n, settings, [*n.booted, *([firewalls[n.name]] if n.name in firewalls else [])])
            for n in nodes}
        init, joins = self._form(control, nodes)
        # Labels for every node in one session on the manager (not one SSH session per node);
        # per node, a delete-only `<node>-member` drains, demotes and removes it when it goes.
        node_ids = {n.name: joins[n.name].stdout.apply(str.strip) for n in nodes}
        pairs = [pulumi.Output.concat(node_ids[n.name], "=", ",".join(f"{k}={v}" for k, v in sorted(n.labels.items())))
                 for n in nodes]
        labels = control_command(self, "labels", control, script("node-labels", *pairs))
        # Every node, the control manager too: moving control only moves where they run.
        members = [node_command(self, n, "member", None, on=control, delete=script("node-remove", node_ids[n.name]),
                                triggers=[node_ids[n.name]], depends_on=[joins[control.name]])  # gone before it leaves
                   for n in nodes]
        # A node is in the swarm once it has joined, the control manager once it has initialised it (its own
        # `-join` only checks, after the tokens): its plugin needs no more.
        in_swarm = {**joins, control.name: init}
        plugins = self._weave(control, nodes, settings, in_swarm) if settings.network.driver == "weave" else {}

        # every node joined, labelled, networked
        self.formed: list[pulumi.Resource] = [labels, *members, *plugins.values()]
        # The control manager in the swarm, with its plugin: what the docker provider and the container
        # network need, long before the last node has joined; its `-join` (its leave) goes after them.
        self.control_ready: list[pulumi.Resource] = [joins[control.name]]
        if plugins:
            self.control_ready.append(plugins[control.name])
        self.control: Node = control
        self.manager_address: pulumi.Output[str] = control.public_ip
        conn = control.connection
        self.docker_host: pulumi.Output[str] = pulumi.Output.format("ssh://{0}@{1}:{2}", conn.user, conn.host,
                                                                    conn.port)
        self.register_outputs({"managerAddress": self.manager_address, "dockerHost": self.docker_host})

    def _host_firewalls(self, nodes: Sequence[Node], settings: Settings,
                        cluster_sources: pulumi.Output[list[str]]) -> dict[str, remote.Command]:
        """Static hosts get the port table on the host (cloud nodes have their cloud's firewall), before
        Docker opens any port, unless their owner manages their firewall (`firewall: false`)."""
        table = [f"{rule.protocol}:{','.join(rule.ports)}:{rule.scope}"
                 for _, rule in ports.rules_for(settings)]
        rules = script("host-firewall", "apply", cluster_sources.apply(",".join), ",".join(settings.admin_cidrs),
                       *table)
        return {n.name: node_command(self, n, "firewall", rules, delete=script("host-firewall", "remove"),
                                     depends_on=list(n.booted))
                for n in nodes if n.cloud == STATIC and n.spec.firewall}

    def _install(self, node: Node, settings: Settings, after: list[pulumi.Resource]) -> remote.Command:
        return node_command(self, node, "docker", script(
            "docker-install", *hostargs.docker_install(settings, node.connection.user)), depends_on=after)

    def _form(self, control: Node, nodes: Sequence[Node]) -> tuple[remote.Command, dict[str, remote.Command]]:
        """`swarm init` on the control manager, then every node joins: the init, and node name -> its join
        (stdout: node id)."""
        managers = {n.name: pulumi.Output.concat(n.public_ip, ":", str(ports.SWARM_MANAGEMENT))
                    for n in nodes if n.role == MANAGER}

        def endpoints(but: str) -> pulumi.Output[str]:  # the other managers, in a stable order
            return pulumi.Output.all(*[e for m, e in managers.items() if m != but]).apply(
                lambda addrs: ",".join(sorted(addrs)) or "-")

        init = control_command(self, "init", control, script("swarm-init", control.public_ip, endpoints(control.name)),
                               depends_on=[self.installs[control.name]], triggers=[control.identity])
        # The swarm's cluster id: new only when a swarm is initialised anew.
        self.swarm_id: pulumi.Output[str] = init.stdout.apply(str.strip)
        tokens = control_command(self, "tokens", control, script("swarm-tokens"), depends_on=[init],
                                 triggers=[self.swarm_id], secret_stdout=True)
        worker_token = pulumi.Output.secret(tokens.stdout.apply(lambda out: out.split()[0] + "\n"))
        manager_token = pulumi.Output.secret(tokens.stdout.apply(lambda out: out.split()[1] + "\n"))
        return init, {n.name: node_command(self, n, "join", script("swarm-join", n.public_ip, endpoints(n.name)),
                                           stdin=manager_token if n.role == MANAGER else worker_token,
                                           delete=script("swarm-leave", ports.SWARM_GOSSIP),
                                           depends_on=[self.installs[n.name]], triggers=[self.swarm_id],
                                           undoes_itself=True)
                      for n in nodes}

    def _weave(self, control: Node, nodes: Sequence[Node], settings: Settings,
               in_swarm: dict[str, remote.Command]) -> dict[str, remote.Command]:
        """The Weave Net plugin on every node once it is in the swarm (node name -> its step); the password
        on stdin. The plugin reads its peers, the swarm's managers, once as it starts (weaveworks/weave
        prog/net-plugin/launch.sh:25-28, `weaveutil swarm-manager-peers`), so not before.

        Every node installs one digest: `swarm-weave-pin` resolves the configured tag once, on the control
        manager while the swarm forms, and prints it pinned; its output stays in the stack, so a node added
        later gets the same plugin. It runs again when `weavePlugin` changes or control moves."""
        password = settings.weave_password
        if password is None:
            password = random.RandomPassword("weave-password", length=32, special=False,
                                             opts=pulumi.ResourceOptions(parent=self)).result
        pin = control_command(self, "weave-pin", control, script("weave-pin", *hostargs.weave_pin(settings)),
                              depends_on=[self.installs[control.name]])
        pinned = pin.stdout.apply(str.strip)
        return {n.name: node_command(self, n, "weave", script("weave-plugin", *hostargs.weave_plugin(settings, pinned)),
                                     stdin=pulumi.Output.secret(pulumi.Output.concat(password, "\n")),
                                     depends_on=[in_swarm[n.name]])
                for n in nodes}
