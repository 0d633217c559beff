"""What a command works on (`Cluster`: the stack's outputs, read once, and the SSH tunnels it opened) and
what it returns (`Outcome`). Every HTTP endpoint of the stack answers on its node's loopback only
(outputs `flinkRest`, `flinkSqlGateway`, `spark`): a local stack's is on this machine's loopback
already (its `url`), any other is reached through an SSH tunnel to its node, open until the command ends.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from .errors import Refused
from .rest import Rest, check_url
from .stack import Endpoint, Spark, flink_rest, identity, outputs, spark_master, sql_gateway, ssh_target
from .tunnel import Tunnel

UI_PORT = 8081  # the local port `flink-swarm ui` takes when it is free; the job links printed point there
SQL_GATEWAY_OFF = ("the stack runs no SQL gateway (its output `flinkSqlGateway` is null): turn it on with "
                   "`pulumi config set --path flink-swarm:flink.sqlGateway true` and `pulumi up`, or give one "
                   "with --gateway-url")
SPARK_OFF = ("the stack runs no Spark (its output `spark` is null): turn it on with `pulumi config set --path "
             "flink-swarm:spark.enabled true` and `pulumi up`")


@dataclass
class Outcome:
    data: Any  # what --output json prints (None: nothing)
    text: str  # what it prints otherwise
    code: int = 0


class Cluster:
    """The cluster the command works on: --url, or the stack's outputs (read once, when needed): a local
    stack's URL, else an SSH tunnel to the endpoint's node (open until the command ends: `with`)."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._outputs: dict | None = None
        self._rest: Rest | None = None
        self.tunnel: Tunnel | None = None  # the one to Flink's REST API
        self._tunnels: list[Tunnel] = []

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *_) -> None:
        for tunnel in self._tunnels:
            tunnel.close()

    def outputs(self) -> dict:
        if self._outputs is None:
            self._outputs = outputs(self.args.stack, self.args.cwd)
        return self._outputs

    def ssh_outputs(self, why: str) -> dict:
        """The stack's outputs for a command that works over SSH (`why`), which --url cannot stand for."""
        try:
            return self.outputs()
        except Refused as err:
            raise Refused(f"{why} over SSH, so it needs the stack's outputs (`--url` is not enough): {err}") from None

    def reach(self, where: Endpoint, local_port: int = 0) -> tuple[str, Tunnel | None]:
        """Where this machine reaches the endpoint: its URL (a local stack), or a new tunnel's end (on
        `local_port` when it is free), with that tunnel."""
        if where.url:
            return where.url, None
        stack_outputs = self.outputs()
        tunnel = Tunnel(ssh_target(stack_outputs, where.node), identity(stack_outputs), where.port, local_port)
        self._tunnels.append(tunnel)
        tunnel.open()
        return tunnel.url, tunnel

    def url(self, local_port: int = 0) -> str:
        """Where this machine reaches Flink's REST API: --url, a local stack's URL, or a tunnel's end
        (on `local_port` when it is free)."""
        if self.args.url:
            return self.args.url
        if self.tunnel is None:
            url, self.tunnel = self.reach(flink_rest(self.outputs()), local_port)
            if self.tunnel is None:
                return url
        return self.tunnel.url

    def gateway_url(self) -> str:
        """Where this machine reaches Flink's SQL gateway: --gateway-url, or the stack's (refused when it
        runs none)."""
        if getattr(self.args, "gateway_url", None):
            return check_url(self.args.gateway_url)
        where = sql_gateway(self.outputs())
        if where is None:
            raise Refused(SQL_GATEWAY_OFF)
        return self.reach(where)[0]

    def spark(self) -> Spark:
        """Spark's standalone master, from the stack's outputs (refused when the stack runs no Spark)."""
        found = spark_master(self.ssh_outputs("spark reaches Spark's master"))
        if found is None:
            raise Refused(SPARK_OFF)
        return found

    def rest(self) -> Rest:
        if self._rest is None:
            self._rest = Rest(self.url())
        return self._rest

    def page(self, job_id: str) -> str:
        """The job's page in the web UI. Through a tunnel: where `flink-swarm ui` serves it (this
        command's tunnel is gone once it ends), without opening one for it."""
        if self.args.url:
            base = check_url(self.args.url)
        else:
            base = check_url(flink_rest(self.outputs()).url or f"http://127.0.0.1:{UI_PORT}")
        return job_link(base, job_id)


def job_link(url: str, job_id: str) -> str:
    # The web UI's route for a job (hash routing): flink-runtime-web/web-dashboard/src/app/pages/job/
    # routes.ts ('running' > ':jid') and modules/running-job/routes.ts ('overview'); its
    # running-job.guard.ts sends a job that has ended on to #/job/completed/<jid>.
    return f"{url}/#/job/running/{job_id}/overview"


def serve(args: argparse.Namespace, url: str, tunnel: Tunnel | None, what: str) -> Outcome:
    """`ui`: print where `what` answers and keep its tunnel open until Ctrl-C (a local stack's URL, or
    one given, is only printed)."""
    data = {"url": url, "tunnel": tunnel is not None, "node": tunnel.target.node if tunnel else None}
    if tunnel is None:
        return Outcome(data, url)
    args.show(Outcome(data, url))
    print(f"{what} on {tunnel.target.node}, through SSH; Ctrl-C closes the tunnel", file=sys.stderr, flush=True)
    try:
        said = tunnel.wait()
    except KeyboardInterrupt:
        return Outcome(None, "")
    raise Refused(f"{tunnel.where()} closed: {said or 'ssh said nothing'}")
