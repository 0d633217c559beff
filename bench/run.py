"""Benchmark: what the program costs under mocks, and how the deployment's critical path grows.

    python bench/run.py [--nodes 5,50,200] [--json FILE] [--check]

For each N, a fresh subprocess writes an N-node topology, runs the whole program under Pulumi's
mocks (tests/harness.run_program) and reports its wall time, peak RSS, the resources it registers,
the critical path (weighted by bench/latency.yaml) and the remote commands per host. `--check`
exits non-zero, naming the target, when the output's shape or a target is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import yaml
from graph import LAYER_NAMES, commands_by_host, count_layers, critical_path, schedule
from latency import LatencyModel

TARGET_NODES, TARGET_SECONDS, TARGET_MIB = 200, 15.0, 1024.0  # N nodes evaluate within these
FLINK_TARGET, LIMIT_RATIO, GROWTH_200 = 120.0, 1.4, 1.5  # s to Flink at 5 nodes (1.4 x the limit); 200 vs 5 nodes
SLOTS = (8, 16)  # `pulumi up --parallel`: 4 x CPUs by default, 8 on a 2-vCPU CI runner (tools/parallelism)
MONITORING_SLACK = 5.0  # s: monitoring's services may be up at most this long after Flink's (issue 32) ...
SPARK_SLACK = 15.0  # ... and Spark's (its image is larger, and pulled by the same nodes as Flink's)
parallelism = runpy.run_path(str(ROOT / "tools" / "parallelism"))["parallelism"]  # what the workflows pass
GROWTH_BASE, GROWTH_LIMIT = 50, 1.5  # wall s per node at the largest N vs at 50 nodes


def topology(n: int) -> dict:
    """n nodes, about 2/3 Azure and 1/3 GCP: 1 manager (3 from 20 nodes), 1 jobmanager, workers."""
    managers, azure = (3 if n >= 20 else 1), round(n * 2 / 3)
    groups = [("azure-manager", "azure", "manager", managers), ("azure-jobmanager", "azure", "jobmanager", None),
              ("azure-worker", "azure", "worker", azure - managers - 1), ("gcp-worker", "gcp", "worker", n - azure)]
    return {"nodes": [dict(name=name, cloud=cloud, role=role, **({} if count is None else {"count": count}))
                      for name, cloud, role, count in groups if count != 0]}


def measure(n: int) -> dict:
    """Run the whole program under mocks for an n-node topology; time it and read its graph."""
    nodes = topology(n)
    start = time.perf_counter()
    from tests import harness
    imported = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "topology.yaml")
        path.write_text(yaml.safe_dump(nodes, sort_keys=False))
        os.environ["FLINK_SWARM_KEY_DIR"] = str(Path(tmp, "keys"))
        # Spark on: the model covers every service the program can run
        run = harness.run_program({**harness.BASE_CONFIG, "flink-swarm:topology": str(path),
                                   "flink-swarm:spark": {"enabled": True}}, stack="bench")
    done = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"nodes": n, "azure": sum(g.get("count", 1) for g in nodes["nodes"] if g["cloud"] == "azure"),
            "import_s": round(imported - start, 2), "program_s": round(done - imported, 2),
            "wall_s": round(done - start, 2), "monitor_cpu_s": round(run.monitor_cpu_s, 2),
            "peak_mib": round(peak_mib, 1), **analyse(run, n)}


def analyse(run, n: int) -> dict:
    """Resources by layer, the critical path (in resources and in modelled seconds), commands per host
    (those that run something on create; the manager's delete-only ones apart)."""
    model = LatencyModel.of_run(run, n)
    layers = count_layers(run)
    length, _ = critical_path(run, lambda res: 1)
    ready, path = critical_path(run, model.seconds)
    hosts, manager = commands_by_host(run), run.outputs["managerAddress"]
    return {
        "resources": layers,
        "per_node": {k: round(layers[k] / n, 2) for k in (*LAYER_NAMES, "total")},
        "critical_path": {"resources": int(length), "seconds": ready,
                          "path": [{"name": r.name, "type": r.type, "seconds": model.seconds(r)} for r in path]},
        # monitoring's services (when on) are made beside Flink's: when the last of them is up
        "monitoring_ready": critical_path(run, model.seconds, "monitoring")[0] if layers["monitoring"] else None,
        "spark_ready": critical_path(run, model.seconds, "spark")[0] if layers["spark"] else None,
        # time to Flink under the engine's `--parallel` slots: as many as needed (the critical path),
        # 8 and 16, and what the workflows pass (tools/parallelism)
        "time_to_flink": {"unbounded": schedule(run, model.seconds, len(run.custom())),
                          **{str(slots): schedule(run, model.seconds, slots) for slots in SLOTS},
                          "workflows": schedule(run, model.seconds, parallelism(n)), "workflow_slots": parallelism(n)},
        # each design of the program (latency.yaml), oldest first: critical path and workflows' slots
        "designs": {name: {"unbounded": critical_path(run, model.scenario(name).seconds)[0],
                           "workflows": schedule(run, model.scenario(name).seconds, parallelism(n))}
                    for name in model.designs},
        "default_design": model.default_design,
        "limit": {"seconds": sum(sec for _, sec in model.limit()), "chain": model.limit()},
        "manager_commands": hosts[manager],
        "manager_delete_only": commands_by_host(run, delete_only=True)[manager],
        "max_host_commands": max(hosts.values()),
    }


def run_child(n: int) -> dict:
    """`measure(n)` in a fresh interpreter, so time and peak RSS belong to this N alone."""
    proc = subprocess.run([sys.executable, str(Path(__file__)), "--child", str(n)],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"the {n}-node run failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    """Where the figures come from."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "pulumi": metadata.version("pulumi"), "pulumi-azure-native": metadata.version("pulumi-azure-native")}


def targets(results: list[dict]) -> list[tuple[str, str, str]]:
    """(target, PASS | FAIL | n/a, detail) for each target of the issue."""
    by_n = {r["nodes"]: r for r in results}
    largest = by_n[max(by_n)]
    out = []
    big = [r for r in results if r["nodes"] >= TARGET_NODES]
    for r in big:
        ok = r["wall_s"] < TARGET_SECONDS and r["peak_mib"] < TARGET_MIB
        out.append((f"{r['nodes']} nodes evaluate in < {TARGET_SECONDS:g} s and < {TARGET_MIB:g} MiB",
                    "PASS" if ok else "FAIL", f"{r['wall_s']} s, {r['peak_mib']} MiB"))
    if not big:
        out.append((f"{TARGET_NODES} nodes in < {TARGET_SECONDS:g} s and < {TARGET_MIB:g} MiB", "n/a",
                    f"no run with {TARGET_NODES} nodes or more"))
    if GROWTH_BASE in by_n and largest["nodes"] > GROWTH_BASE:
        base = by_n[GROWTH_BASE]["wall_s"] / GROWTH_BASE
        ratio = largest["wall_s"] / largest["nodes"] / base
        out.append((f"wall s per node at {largest['nodes']} within {GROWTH_LIMIT}x of {GROWTH_BASE} nodes",
                    "PASS" if ratio <= GROWTH_LIMIT else "FAIL", f"{ratio:.2f}x"))
    else:
        out.append(("wall s per node does not grow", "n/a", f"needs {GROWTH_BASE} nodes and a larger N"))
    out += flink_targets(by_n)
    lengths = {r["nodes"]: r["critical_path"]["resources"] for r in results}
    out.append(("critical path length is the same at every N", "PASS" if len(set(lengths.values())) == 1 else "FAIL",
                ", ".join(f"{n}: {v}" for n, v in lengths.items())))
    for part, slack in (("monitoring", MONITORING_SLACK), ("spark", SPARK_SLACK)):
        ready = {r["nodes"]: (r["critical_path"]["seconds"], r[f"{part}_ready"]) for r in results}
        if all(m is not None for _, m in ready.values()):  # on: beside Flink, a few seconds at most after it
            out.append((f"{part}'s services up within {slack:g} s of Flink's (critical path)",
                        "PASS" if all(m <= f + slack for f, m in ready.values()) else "FAIL",
                        ", ".join(f"{n}: Flink {f:g} s, {part} {m:g} s" for n, (f, m) in ready.items())))
    smallest = by_n[min(by_n)]
    if largest is not smallest:
        slope = (largest["manager_commands"] - smallest["manager_commands"]) / (largest["nodes"] - smallest["nodes"])
        detail = (f"{slope:.2f} per node ({smallest['manager_commands']} -> {largest['manager_commands']}; "
                  f"delete-only {smallest['manager_delete_only']} -> {largest['manager_delete_only']})")
        out.append(("manager runs at most one more command per node", "PASS" if slope <= 1 else "FAIL", detail))
    return out


def flink_targets(by_n: dict[int, dict]) -> list[tuple[str, str, str]]:
    """Time to Flink: at 5 nodes at most FLINK_TARGET s, naming the designs that meet it; at 200 nodes
    under the workflows' slots at most GROWTH_200 x the 5-node figure, for every design."""
    out = []
    if 5 in by_n:
        designs, default = by_n[5]["designs"], by_n[5]["default_design"]
        meet = [name for name, t in designs.items() if t["workflows"] <= FLINK_TARGET]
        detail = (f"limit {by_n[5]['limit']['seconds']:g} s; " + ", ".join(
            f"{name}{' (default)' if name == default else ''} {t['workflows']:g} s" for name, t in designs.items())
            + f"; met by {', '.join(meet) or 'no design'}")
        out.append((f"5 nodes: time to Flink <= {FLINK_TARGET:g} s ({LIMIT_RATIO}x the limit) with a design",
                    "PASS" if meet else "FAIL", detail))
    else:
        out.append((f"5 nodes: time to Flink <= {FLINK_TARGET:g} s", "n/a", "no run with 5 nodes"))
    if 5 in by_n and TARGET_NODES in by_n:
        ratios = {name: by_n[TARGET_NODES]["designs"][name]["workflows"] / t["workflows"]
                  for name, t in by_n[5]["designs"].items()}
        out.append((f"{TARGET_NODES} nodes under the workflows' slots within {GROWTH_200}x of 5 nodes, every design",
                    "PASS" if max(ratios.values()) <= GROWTH_200 else "FAIL",
                    ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items())))
    else:
        out.append((f"{TARGET_NODES} nodes within {GROWTH_200}x of 5 nodes", "n/a",
                    f"needs runs with 5 and {TARGET_NODES} nodes"))
    return out


def shape_problems(results: list[dict]) -> list[str]:
    """What is missing or inconsistent in the results (each run must be complete and add up)."""
    problems = []
    for r in results:
        layers, path, n = r["resources"], r["critical_path"]["path"], r["nodes"]
        if sum(layers[k] for k in (*LAYER_NAMES, "other")) != layers["total"]:
            problems.append(f"{n} nodes: the layers do not add up to the {layers['total']} resources")
        if layers["other"]:
            problems.append(f"{n} nodes: {layers['other']} resources belong to no layer")
        if not (r["wall_s"] > 0 and r["peak_mib"] > 0 and r["manager_commands"] > 0 and r["designs"]):
            problems.append(f"{n} nodes: missing time, memory, manager commands or designs")
        if not path or path[-1]["type"] != "docker:index/service:Service":
            problems.append(f"{n} nodes: the critical path does not end at a Flink service")
        t = r["time_to_flink"]
        if abs(t["unbounded"] - r["critical_path"]["seconds"]) > 1e-6:
            problems.append(f"{n} nodes: with unbounded slots the schedule ({t['unbounded']} s) is not the "
                            f"critical path ({r['critical_path']['seconds']} s)")
        if not t["unbounded"] <= t[str(SLOTS[-1])] <= t[str(SLOTS[0])]:
            problems.append(f"{n} nodes: fewer slots must never be faster: {t}")
        designs = r["designs"]
        if designs[r["default_design"]]["unbounded"] != t["unbounded"]:
            problems.append(f"{n} nodes: the default design ({r['default_design']}) is not the model as it is")
        times = [d["unbounded"] for d in designs.values()]
        if times != sorted(times, reverse=True) or r["limit"]["seconds"] > times[-1]:
            problems.append(f"{n} nodes: each design must be at least as fast as the one before it, and none "
                            f"faster than the limit ({r['limit']['seconds']:g} s): {designs}")
    return problems


def print_tables(results: list[dict]) -> None:
    """Cost per N, then the graph per N."""
    print(f"{'nodes':>5} {'azure/gcp':>9} {'wall s':>7} {'import s':>8} {'program s':>9} {'mock cpu s':>10} "
          f"{'peak MiB':>8} {'wall ms/node':>12}")
    for r in results:
        clouds = f"{r['azure']}/{r['nodes'] - r['azure']}"
        print(f"{r['nodes']:>5} {clouds:>9} {r['wall_s']:>7} {r['import_s']:>8} {r['program_s']:>9} "
              f"{r['monitor_cpu_s']:>10} {r['peak_mib']:>8} {1000 * r['wall_s'] / r['nodes']:>12.0f}")
    print(f"\n{'nodes':>5} {'resources':>9} {'nodes/swarm/flink':>17} {'per node':>16} {'path':>4} {'ready s':>7} "
          f"{'manager cmds':>12} {'manager delete-only':>19} {'max cmds/host':>13}")
    for r in results:
        layers, cp = r["resources"], r["critical_path"]
        total = "/".join(str(layers[k]) for k in ("nodes", "swarm", "flink"))
        per_node = "/".join(str(r["per_node"][k]) for k in ("nodes", "swarm", "flink"))
        print(f"{r['nodes']:>5} {layers['total']:>9} {total:>17} {per_node:>16} {cp['resources']:>4} "
              f"{cp['seconds']:>7g} {r['manager_commands']:>12} {r['manager_delete_only']:>19} "
              f"{r['max_host_commands']:>13}")


def print_path(r: dict) -> None:
    """The time-critical chain of one run, with the elapsed time after each resource, and the physical limit."""
    cp = r["critical_path"]
    print(f"\ncritical path at {r['nodes']} nodes: {cp['resources']} resources by count; "
          f"time-critical chain, {cp['seconds']:g} s (about {cp['seconds'] / 60:.1f} min) to Flink running:")
    elapsed = 0.0
    for step in cp["path"]:
        elapsed += step["seconds"]
        print(f"  {elapsed:>5g} s  +{step['seconds']:<4g} {step['name']}  ({step['type']})")
    limit = r["limit"]
    print(f"\nphysical limit, {limit['seconds']:g} s: " + " + ".join(
        f"{typ.split(':')[-1]} {sec:g}" for typ, sec in limit["chain"]))


def print_time_to_flink(results: list[dict]) -> None:
    """Modelled seconds from nothing to Flink running, by N and the engine's `--parallel` slots."""
    print("\ntime to Flink (modelled s) by --parallel: as many as needed (critical path), "
          f"{' and '.join(map(str, SLOTS))}, and the workflows' (tools/parallelism):")
    print(f"{'nodes':>5} {'unbounded':>9} " + " ".join(f"{s:>6}" for s in SLOTS) + f" {'workflows':>16}")
    for r in results:
        t = r["time_to_flink"]
        print(f"{r['nodes']:>5} {t['unbounded']:>9g} " + " ".join(f"{t[str(s)]:>6g}" for s in SLOTS)
              + f" {t['workflows']:>9g} ({t['workflow_slots']:>3})")


def print_designs(results: list[dict]) -> None:
    """Time to Flink of each design (bench/latency.yaml), critical path and under the workflows' slots."""
    print("\ntime to Flink (modelled s) by design, oldest first: critical path / under the workflows' slots")
    print(f"{'design':<16} " + " ".join(f"{str(r['nodes']) + ' nodes':>15}" for r in results))
    for name in results[0]["designs"]:
        mark = " *" if name == results[0]["default_design"] else ""
        print(f"{name + mark:<16} " + " ".join(
            f"{r['designs'][name]['unbounded']:>7g} /{r['designs'][name]['workflows']:>6g}" for r in results))
    print(f"{'limit':<16} " + " ".join(f"{r['limit']['seconds']:>15g}" for r in results))
    print("(* the program as it is)")


def print_targets(checks: list[tuple[str, str, str]]) -> None:
    """Each target with PASS, FAIL or n/a."""
    print("\ntargets:")
    for what, status, detail in checks:
        print(f"  {status:<4} {what}: {detail}")


def node_counts(text: str) -> list[int]:
    """`--nodes 5,50,200` -> [5, 50, 200] (sorted, unique); a topology needs at least 3 nodes."""
    try:
        counts = sorted({int(n) for n in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if counts[0] < 3:
        raise argparse.ArgumentTypeError("a topology needs at least 3 nodes: a manager, the jobmanager, a worker")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=node_counts, default=[5, 50, 200],
                        help="comma-separated node counts (default 5,50,200)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit non-zero when the shape or a target is missed")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return

    results = [run_child(n) for n in args.nodes]
    checks = targets(results)
    print(" | ".join(f"{k} {v}" for k, v in machine().items()) + "\n")
    print_tables(results)
    print_path(results[-1])
    print_time_to_flink(results)
    print_designs(results)
    print_targets(checks)
    if args.json:
        report = {"machine": machine(), "results": results,
                  "targets": [{"target": t, "status": s, "detail": d} for t, s, d in checks]}
        args.json.write_text(json.dumps(report, indent=2))
    if args.check:
        failures = shape_problems(results) + [f"target missed: {what} ({detail})"
                                              for what, status, detail in checks if status == "FAIL"]
        if failures:
            sys.exit("CHECK FAILED\n  " + "\n  ".join(failures))
        print("check: output complete, every applicable target met")


if __name__ == "__main__":
    main()
