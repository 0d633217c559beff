"""Read a captured resource graph (`tests.harness.Run`): layers, the critical path, commands per host."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

LAYERS = {  # component type -> layer of everything it parents (and of itself)
    "flink-swarm:index:SshKey": "nodes",
    "flink-swarm:index:Nodes": "nodes",
    "flink-swarm:index:SwarmCluster": "swarm",
    "flink-swarm:index:FlinkCluster": "flink",
}
COMMAND = "command:remote:Command"
SERVICE = "docker:index/service:Service"


def layer_of(res, by_urn: dict) -> str:
    """The layer of the component that parents `res` (or `res` itself), walking up its parents."""
    while res is not None and res.type not in LAYERS:
        res = by_urn.get(res.parent)
    return LAYERS[res.type] if res is not None else "other"


def count_layers(run) -> dict[str, int]:
    """Registered resources (components included) per layer, plus `custom` and `total`."""
    by_urn = {r.urn: r for r in run.resources}
    counts = Counter(layer_of(r, by_urn) for r in run.resources)
    out = {layer: counts.get(layer, 0) for layer in ("nodes", "swarm", "flink", "other")}
    return dict(out, custom=len(run.custom()), total=len(run.resources))


def critical_path(run, seconds: Callable[[object], float]) -> tuple[float, list]:
    """The heaviest chain of dependent custom resources ending at a Flink service.

    `seconds(res)` weighs each resource (use `lambda r: 1` to count resources). Returns the
    chain's weight and the chain itself, first resource first.
    """
    custom = {r.urn: r for r in run.custom()}
    best: dict[str, tuple[float, list]] = {}

    def heaviest(urn: str) -> tuple[float, list]:
        if urn not in best:
            res = custom[urn]
            before = [heaviest(d) for d in sorted(res.deps) if d in custom]
            weight, chain = max(before, key=lambda b: b[0], default=(0.0, []))
            best[urn] = (weight + seconds(res), [*chain, res])
        return best[urn]

    return max((heaviest(r.urn) for r in run.of_type(SERVICE)), key=lambda b: b[0])


def commands_by_host(run, delete_only: bool = False) -> Counter:
    """Remote commands per host (connection address) that run something on create, or with
    `delete_only` those that have only a `delete` (they open no SSH session until they are destroyed)."""
    return Counter(c.inputs["connection"]["host"] for c in run.of_type(COMMAND)
                   if bool(c.inputs.get("create")) != delete_only)
