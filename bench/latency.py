"""The latency model (`latency.yaml`): typical seconds per resource, the program's designs, the limit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from graph import COMMAND

MODEL_FILE = Path(__file__).resolve().parent / "latency.yaml"


class LatencyModel:
    """Seconds per custom resource: by name where `named` has it, else by type, or for remote
    commands by step (name suffix).

    A step may add `per_node` seconds for each of the cluster's `nodes` (a command that works on
    every node), and may take `on_control` seconds instead on the control manager's own node, the
    host that runs `swarm-init` (`control_host`), where it only checks. A delete-only command (no
    `create`) does nothing on create: 0 s.
    """

    def __init__(self, resources: dict[str, Any], steps: dict[str, Any], per_node: dict[str, float],
                 nodes: int, designs: dict | None = None, limit: list[str] | None = None,
                 named: dict[str, float] | None = None, on_control: dict[str, float] | None = None,
                 control_host: str | None = None):
        self.resources, self.steps, self.per_node, self.nodes = resources, steps, per_node, nodes
        self.named, self.on_control, self.control_host = named or {}, on_control or {}, control_host
        self.designs, self.limit_chain = designs or {}, limit or []

    @classmethod
    def load(cls, nodes: int, path: Path = MODEL_FILE, control_host: str | None = None) -> LatencyModel:
        """The model for a cluster of `nodes` nodes whose control manager is reached at `control_host`."""
        doc = yaml.safe_load(path.read_text())
        steps = doc["steps"]
        return cls({t: e["seconds"] for t, e in doc["resources"].items()},
                   {s: e["seconds"] for s, e in steps.items()},
                   {s: e["per_node"] for s, e in steps.items() if "per_node" in e}, nodes, doc["designs"],
                   doc["limit"]["chain"], {n: e["seconds"] for n, e in doc.get("named", {}).items()},
                   {s: e["on_control"] for s, e in steps.items() if "on_control" in e}, control_host)

    @classmethod
    def of_run(cls, run, nodes: int) -> LatencyModel:
        """The model for a captured run of `nodes` nodes: its control manager is the host of `swarm-init`."""
        return cls.load(nodes, control_host=run.get("swarm-init").inputs["connection"]["host"])

    @property
    def default_design(self) -> str:
        """The design the figures describe as they are (no overrides): the program as it is."""
        [name] = [name for name, d in self.designs.items() if not d.get("steps") and not d.get("resources")]
        return name

    def limit(self) -> list[tuple[str, float]]:
        """The physical limit's chain: (resource type, seconds) that nothing can overlap."""
        return [(typ, self.resources[typ]) for typ in self.limit_chain]

    def scenario(self, name: str) -> LatencyModel:
        """This model with design `name`'s overrides applied."""
        change = self.designs[name]
        steps = dict(self.steps)
        for step, value in change.get("steps", {}).items():
            steps[step] = {**steps[step], **value} if isinstance(value, dict) else value
        return LatencyModel({**self.resources, **change.get("resources", {})}, steps, self.per_node, self.nodes,
                            named=self.named, on_control=self.on_control, control_host=self.control_host)

    def step_of(self, name: str) -> str | None:
        """The step a command named `<node>-<step>` (or the swarm's `swarm-<step>`) runs: the longest match."""
        matches = [s for s in self.steps if name == s or name.endswith(f"-{s}")]
        return max(matches, key=len, default=None)

    def seconds(self, res) -> float:
        """Typical seconds to create `res`; KeyError names what latency.yaml lacks."""
        if res.name in self.named:
            return self.named[res.name]
        if res.type != COMMAND:
            if res.type not in self.resources:
                raise KeyError(f"bench/latency.yaml has no figure for resource type {res.type}")
            return self.resources[res.type]
        if not res.inputs.get("create"):
            return 0.0
        step = self.step_of(res.name)
        if step is None:
            raise KeyError(f"bench/latency.yaml has no step matching command {res.name}")
        if step in self.on_control and res.inputs["connection"]["host"] == self.control_host:
            return self.on_control[step]
        value = self.steps[step]
        fixed = sum(value.values()) if isinstance(value, dict) else value
        return fixed + self.per_node.get(step, 0.0) * self.nodes
