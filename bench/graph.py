"""Read a captured resource graph (`tests.harness.Run`): layers, the critical path, commands per host."""
from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable

LAYERS = {  # component type -> layer of everything it parents (and of itself)
    "flink-swarm:index:SshKey": "nodes",
    "flink-swarm:index:Nodes": "nodes",
    "flink-swarm:index:SwarmCluster": "swarm",
    "flink-swarm:index:FlinkCluster": "flink",
    "flink-swarm:index:Monitoring": "monitoring",
    "flink-swarm:index:SparkCluster": "spark",
}
LAYER_NAMES = ("nodes", "swarm", "flink", "monitoring", "spark")
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
    out = {layer: counts.get(layer, 0) for layer in (*LAYER_NAMES, "other")}
    return dict(out, custom=len(run.custom()), total=len(run.resources))


def services_of(run, layer: str) -> list:
    """The swarm services of a layer: Flink's (`flink`), monitoring's or Spark's."""
    by_urn = {r.urn: r for r in run.resources}
    return [s for s in run.of_type(SERVICE) if layer_of(s, by_urn) == layer]


def critical_path(run, seconds: Callable[[object], float], layer: str = "flink") -> tuple[float, list]:
    """The heaviest chain of dependent custom resources ending at a service of `layer` (Flink's).

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

    return max((heaviest(r.urn) for r in services_of(run, layer)), key=lambda b: b[0])


def schedule(run, seconds: Callable[[object], float], slots: int) -> float:
    """Seconds until the last Flink service is up when at most `slots` operations run at once.

    As Pulumi's engine runs them under `--parallel slots`: a resource is registered once the
    resources it depends on are done (the program waits for their outputs), and its operation
    starts as soon as one of the step executor's `slots` workers is free, first registered first
    (pulumi/pulumi pkg/resource/deploy/step_executor.go:760-769, one worker per degree of parallelism,
    each taking the next chain of steps from one channel, :677-697). Components take no time.
    """
    custom = {r.urn: r for r in run.custom()}
    order = {urn: i for i, urn in enumerate(custom)}  # registration order breaks ties
    deps = {urn: {d for d in res.deps if d in custom} for urn, res in custom.items()}
    waiting_on = {urn: len(d) for urn, d in deps.items()}
    dependents: dict[str, list[str]] = {urn: [] for urn in custom}
    for urn, before in deps.items():
        for d in before:
            dependents[d].append(urn)
    queue = [(0.0, order[urn], urn) for urn, n in waiting_on.items() if n == 0]  # (ready at, order, urn)
    heapq.heapify(queue)
    running: list[tuple[float, str]] = []  # (done at, urn)
    done: dict[str, float] = {}
    now = 0.0
    while queue or running:
        while queue and len(running) < slots and queue[0][0] <= now:
            _, _, urn = heapq.heappop(queue)
            heapq.heappush(running, (now + seconds(custom[urn]), urn))
        if not running:  # nothing runs and nothing is ready yet: wait for the next registration
            now = queue[0][0]
            continue
        now, urn = heapq.heappop(running)
        done[urn] = now
        for after in dependents[urn]:
            waiting_on[after] -= 1
            if waiting_on[after] == 0:
                heapq.heappush(queue, (now, order[after], after))
    return max(done[r.urn] for r in services_of(run, "flink"))


def commands_by_host(run, delete_only: bool = False) -> Counter:
    """Remote commands per host (connection address) that run something on create, or with
    `delete_only` those that have only a `delete` (they open no SSH session until they are destroyed)."""
    return Counter(c.inputs["connection"]["host"] for c in run.of_type(COMMAND)
                   if bool(c.inputs.get("create")) != delete_only)
