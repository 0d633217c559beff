"""Providers that reach no host, for plans checked in the unit tests (`registry(real=False)`).

`FakeCommands` diffs exactly as `command.RemoteCommand` does and answers with the harness's fake
stdout instead of running anything; it records every operation. `FakeDocker` stores a network's or
service's inputs as they are (no Docker reads anything back: the drift Docker adds is the end-to-end
tests' part) and diffs them with the same Terraform schema as `docker.py`.
"""
from __future__ import annotations

import secrets
import threading
import uuid

from tests.harness import FakeCloud

from .state import Goal, ResourceState
from . import Diff
from .command import RemoteCommand
from .docker import DockerProvider, _diff


class FakeCommands(RemoteCommand):
    """Runs nothing; `ops` lists (resource, create | update | delete) in the order they happened.

    Its stdout is the harness's fake, except that a join or an init run by a create (a new node)
    prints a new node id, as Docker gives one; run again by an update, it prints the same one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[str, str]] = []
        self.nodes: dict[str, int] = {}  # join or init -> how many times it made a node

    def run(self, name: str, operation: str, inputs: dict, text: str, env: dict[str, str]) -> tuple[str, str]:
        with self._lock:
            self.env_sent += [(name, key, value) for key, value in env.items()]
            self.ops.append((name, operation))
            stdout = FakeCloud.command_stdout(name, inputs).removesuffix("\n")
            if name.endswith(("-join", "-swarm-init")):
                if operation == "create":
                    self.nodes[name] = self.nodes.get(name, 0) + 1
                stdout += f"-{self.nodes[name]}"
        return stdout, ""

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        if not news.get("create"):
            with self._lock:
                self.ops.append((goal.name, "create"))
        return super().create(goal, news, config)


class FakeDocker(DockerProvider):
    """The docker provider, network and service: inputs stored verbatim, the real schema's diff."""

    def __init__(self, schema=None):
        self.schema = schema
        self._fake = FakeCloud()
        self.ops: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        if self.schema is None:
            return super().diff(old, news, config, ignore)
        return _diff(self.schema, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        with self._lock:
            self.ops.append((goal.name, "create"))
        return (str(uuid.uuid4()) if self.schema is None else secrets.token_hex(12)), \
            {**news, **self._fake.outputs(goal.type, goal.name, news)}  # a built image's id

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        with self._lock:
            self.ops.append((old.name, "update"))
        return dict(news)

    def delete(self, old: ResourceState, config: dict) -> None:
        with self._lock:
            self.ops.append((old.name, "delete"))
