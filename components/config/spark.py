"""flink-swarm:spark: a Spark standalone cluster beside Flink (docs/spark.md), and each worker node's memory budget."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .checks import boolean, fail, image, mapping, positive_int
from .clouds import machine_memory_mb, machine_size
from .flinkopts import FLINK_KEY, MAX_KEY, MAX_VALUE, is_secret
from .topology import WORKER
from .types import OWN, SparkSpec
from .yamlfile import deep_merge

FIELD = f"{OWN}spark"
MEMORY = re.compile(r"0*([1-9][0-9]{0,9})(m|g)", re.IGNORECASE)  # Spark's --memory form (Utils.memoryStringToMb)
WORKER_MEMORY_MB = (512, 1 << 20)
MAX_CORES = 1024
DAEMON_MEMORY_MB = 512  # each Spark daemon's heap (SPARK_DAEMON_MEMORY; Spark's default 1g)
NODE_RESERVE_MB = 1024  # what a worker node keeps for its system, Docker and the node exporter
# The spark-defaults options a stack may not set: what the program writes itself (components/spark.py,
# `flink-swarm spark submit`) or needs, and Spark's REST submission server; each with the problem and the fix.
OWN = "set by flink-swarm itself"
REFUSED = {
    "spark.master": (OWN, "the program points every application at its master: leave it out"),
    # the master reads it over its --webui-port (core deploy/master/MasterArguments.scala)
    "spark.master.ui.port": (OWN, "the master's UI is published on port 8080 of its node: leave it out"),
    "spark.driver.host": (OWN, "`flink-swarm spark submit` sets it to the master's container: leave it out"),
    "spark.driver.bindaddress": (OWN, "`flink-swarm spark submit` sets it: leave it out"),
    "spark.ui.killenabled": (OWN, "`flink-swarm spark kill` needs it: leave it out"),
    "spark.master.rest.enabled": ("would start Spark's REST submission server, which runs any application "
                                  "sent to it, unauthenticated", "leave it out: submit with `flink-swarm spark submit`")}


def read(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> SparkSpec:
    merged = deep_merge(defaults["spark"], mapping(FIELD, cfg.get("spark"), set(defaults["spark"])))
    return SparkSpec(
        enabled=boolean(f"{FIELD}.enabled", merged["enabled"]),
        image=image(f"{FIELD}.image", merged["image"]),
        worker_cores=positive_int(f"{FIELD}.workerCores", merged["workerCores"], 1, MAX_CORES),
        worker_memory_mb=_memory_mb(merged["workerMemory"]),
        settings=_settings(merged["settings"]))


def _memory_mb(value: Any) -> int:
    match = MEMORY.fullmatch(value) if isinstance(value, str) else None
    size = int(match[1]) * (1024 if match[2].lower() == "g" else 1) if match else 0
    least, most = WORKER_MEMORY_MB
    if not least <= size <= most:
        fail(f"{FIELD}.workerMemory", value, f"not a memory size from {least}m to {most // 1024}g",
             "write e.g. 2048m or 2g: what the worker gives its executors")
    return size


def _settings(merged: Any) -> dict[str, str]:
    """spark.settings: spark-defaults options, checked as flink.settings is (key form, the program's own,
    secrets, one plain line a value); null drops a default."""
    field = f"{FIELD}.settings"
    if not isinstance(merged, Mapping):
        fail(field, merged, "must be an object", "give Spark options as `key: value` pairs, e.g. "
             "`pulumi config set --path 'flink-swarm:spark.settings[\"spark.executor.memory\"]' 1g`")
    out = {}
    for key, value in merged.items():
        if not isinstance(key, str) or len(key) > MAX_KEY or not FLINK_KEY.fullmatch(key):
            fail(field, key, "not a Spark option key",
                 "write the key as Spark's docs name it, e.g. spark.executor.memory")
        lower = key.lower()
        if lower in REFUSED:
            fail(f"{field}.{key}", value, *REFUSED[lower])
        # Hadoop's options (the filesystems' keys among them) as Spark takes them: spark.hadoop.<option>
        if is_secret(lower) or is_secret(lower.removeprefix("spark.hadoop.")):
            fail(f"{field}.{key}", None, "a secret, which spark.settings would keep in plain stack config",
                 "leave it out: secrets belong in your image", shown="value not shown")
        if value is None:
            continue
        if isinstance(value, (Mapping, list)):
            fail(f"{field}.{key}", value, "not a single value", "write one value, as spark-defaults.conf takes it")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if not text.strip() or re.search(r"[\x00-\x1f\x7f]", text) or len(text) > MAX_VALUE:
            fail(f"{field}.{key}", value, "empty, with control characters or longer than 1024 characters",
                 "write the value on one line of at most 1024 characters")
        out[key] = text
    return dict(sorted(out.items()))


def check_memory(settings: Any) -> None:
    """Spark on: each worker node's taskmanager, Spark worker and its daemon fit the node's machine, with
    NODE_RESERVE_MB to spare; nodes whose memory the program does not know (static, local, an unknown
    size) are not checked."""
    spark = settings.spark
    if not spark.enabled:
        return
    flink_mb = _flink_mb(settings.flink.taskmanager_memory)
    need = flink_mb + spark.worker_memory_mb + DAEMON_MEMORY_MB + NODE_RESERVE_MB
    for node in settings.nodes:
        size = machine_size(node, settings) if node.role == WORKER else None
        total = machine_memory_mb(node.cloud, size) if size else None
        if total is None or need <= total:
            continue
        room = total - need + spark.worker_memory_mb
        fail(f"{FIELD}.workerMemory", f"{spark.worker_memory_mb}m",
             f"worker node {node.name} ({size}, {total} MiB) cannot hold the taskmanager's {flink_mb} MiB "
             f"(flink.taskmanagerMemory) + the Spark worker's {spark.worker_memory_mb} MiB + its daemon's "
             f"{DAEMON_MEMORY_MB} MiB + {NODE_RESERVE_MB} MiB for the system: {need} MiB",
             (f"give Spark at most {room}m, " if room >= WORKER_MEMORY_MB[0] else "no Spark worker fits beside this "
              "taskmanager: use ") + "a smaller flink.taskmanagerMemory, or larger worker machines")


def _flink_mb(size: str) -> int:
    number, unit = re.fullmatch(r"0*([0-9]+)([a-z]+)", size.lower()).groups()
    return int(number) * (1024 if unit.startswith("g") else 1)
