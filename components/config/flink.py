"""Flink's settings: image, slots, memory, parallelism, its own options and where its state lives."""
from __future__ import annotations

import re
from typing import Any, Mapping

from . import flinkopts
from .checks import boolean, choice, fail, image, mapping, positive_int
from .topology import AZURE
from .types import OWN, AzureSpec, FlinkSpec, GcpSpec
from .yamlfile import deep_merge

MEMORY = re.compile(r"0*([1-9][0-9]{0,9})(m|g|mb|gb)", re.IGNORECASE)
MEMORY_MB = {"taskmanagerMemory": (1024, 1 << 20), "jobmanagerMemory": (1024, 1 << 20)}
# From 1g: Flink 1.20's fixed parts (JVM metaspace 256m, overhead at least 192m, framework heap and off-heap
# 128m each, network at least 64m) leave a taskmanager nothing below about 800m, a jobmanager too little
# heap; up to 1 TB, more than any machine the program makes.
MAX_SLOTS = 1024  # a taskmanager's slots: far more than its cores
MAX_PARALLELISM = 32768  # Flink's upper bound (KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM)
STATE_STORES = ("node", "gcs", "azure")  # flink.state: the jobmanager's node, or a bucket on either cloud
FLINK_OWN_KEYS = flinkopts.WRITTEN  # the Flink options the program writes (flink.settings refuses them)


def read(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> FlinkSpec:
    merged = deep_merge(defaults["flink"], mapping(f"{OWN}flink", cfg.get("flink"), set(defaults["flink"])))
    state = choice(f"{OWN}flink.state", merged["state"], STATE_STORES)
    settings = _flink_settings(merged["settings"])
    flinkopts.check_state(settings, state)
    return FlinkSpec(
        image=image(f"{OWN}flink.image", merged["image"]),
        task_slots=positive_int(f"{OWN}flink.taskSlots", merged["taskSlots"], 1, MAX_SLOTS),
        taskmanager_memory=_memory("taskmanagerMemory", merged["taskmanagerMemory"]),
        jobmanager_memory=_memory("jobmanagerMemory", merged["jobmanagerMemory"]),
        parallelism=positive_int(f"{OWN}flink.parallelism", merged["parallelism"], 1, MAX_PARALLELISM,
                                 "Flink's largest"),
        settings=settings,
        sql_gateway=boolean(f"{OWN}flink.sqlGateway", merged["sqlGateway"]),
        python=boolean(f"{OWN}flink.python", merged["python"]),
        state=state,
    )


def _memory(key: str, value: Any) -> str:
    """A memory size as Flink reads it (a number and m, mb, g or gb), within MEMORY_MB."""
    match = MEMORY.fullmatch(value) if isinstance(value, str) else None
    least, most = MEMORY_MB[key]
    size = int(match[1]) * (1024 if match[2].lower().startswith("g") else 1) if match else 0
    if not least <= size <= most:
        fail(f"{OWN}flink.{key}", value, f"not a memory size from {least}m to {most // 1024}g",
             "write e.g. 4096m or 4g (Flink needs about 1g for its own parts)")
    return value


def _flink_settings(merged: Mapping[str, Any]) -> dict[str, str]:
    """flink.settings: the defaults with the stack's keys over them (null drops a default), as text."""
    field = f"{OWN}flink.settings"
    if not isinstance(merged, Mapping):
        fail(field, merged, "must be an object", "give Flink options as `key: value` pairs, e.g. "
             "`pulumi config set --path 'flink-swarm:flink.settings[\"state.backend.type\"]' rocksdb`")
    out = {}
    for key, value in merged.items():
        flinkopts.check_key(key, value)
        if value is not None:
            out[key] = flinkopts.value_text(key, value)
    return dict(sorted(out.items()))


def check_state(flink: FlinkSpec, azure: AzureSpec, gcp: GcpSpec) -> None:
    """A state bucket needs its cloud's settings, with or without nodes there."""
    if flink.state == "gcs" and not (gcp.project and gcp.region):
        fail(f"{OWN}flink.state", flink.state, "a bucket on Google Cloud Storage needs gcp:project and a region "
             "(gcp:region, or gcp:zone's)", "`pulumi config set gcp:project my-project-id` and "
             "`pulumi config set gcp:region europe-west1`")
    if flink.state == AZURE and not azure.location:
        fail(f"{OWN}flink.state", flink.state, "a storage account on Azure needs azure-native:location",
             "`pulumi config set azure-native:location westeurope`")
