"""Flink's settings: image, slots, memory, parallelism, its own options and where its state lives."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .checks import boolean, choice, fail, image, mapping, positive_int
from .topology import AZURE
from .types import OWN, AzureSpec, FlinkSpec, GcpSpec
from .yamlfile import deep_merge

MEMORY = re.compile(r"0*[1-9][0-9]*(m|g|mb|gb)", re.IGNORECASE)  # above zero
STATE_STORES = ("node", "gcs", "azure")  # flink.state: the jobmanager's node, or a bucket on either cloud
# flink.settings: a Flink option key, and a value the image's entrypoint passes on unchanged. It reads
# FLINK_PROPERTIES a line at a time, deletes every whitespace character, splits at the first ':', expands
# the value with envsubst and echoes it unquoted (globbing it against the working directory)
# (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/docker-entrypoint.sh:104-128).
FLINK_KEY = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
FLINK_VALUE = re.compile(r"[^\s$*?\[]+")
# Flink options the program writes itself, and what to set instead.
FLINK_OWN_KEYS = {
    **dict.fromkeys(("jobmanager.rpc.address", "jobmanager.rpc.port", "blob.server.port", "query.server.port",
                     "rest.port", "taskmanager.rpc.port", "taskmanager.data.port", "high-availability.jobmanager.port"),
                    "addresses and ports come from the port table (components/ports.py): leave them out"),
    "taskmanager.numberOfTaskSlots": "set flink-swarm:flink.taskSlots instead",
    "taskmanager.memory.process.size": "set flink-swarm:flink.taskmanagerMemory instead",
    "jobmanager.memory.process.size": "set flink-swarm:flink.jobmanagerMemory instead",
    "parallelism.default": "set flink-swarm:flink.parallelism instead",
    **dict.fromkeys(("high-availability.type", "high-availability.zookeeper.quorum", "high-availability.storageDir"),
                    "flink-swarm runs ZooKeeper high availability itself (docs/jobs.md \"Durable state\"): leave it out"),
}
# Flink hides the values of keys that contain one of these (flink-core GlobalConfiguration.java
# SENSITIVE_KEYS, release-1.20): flink.settings is plain stack config, so they are refused there.
FLINK_SENSITIVE = ("password", "secret", "fs.azure.account.key", "apikey", "auth-params", "service-key", "token",
                   "basic-auth", "jaas.config", "http-headers")


def read(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> FlinkSpec:
    merged = deep_merge(defaults["flink"], mapping(f"{OWN}flink", cfg.get("flink"), set(defaults["flink"])))
    for key in ("taskmanagerMemory", "jobmanagerMemory"):
        if not MEMORY.fullmatch(str(merged[key])):
            fail(f"{OWN}flink.{key}", merged[key], "not a memory size above zero", "write e.g. 4096m or 4g")
    return FlinkSpec(
        image=image(f"{OWN}flink.image", merged["image"]),
        task_slots=positive_int(f"{OWN}flink.taskSlots", merged["taskSlots"]),
        taskmanager_memory=str(merged["taskmanagerMemory"]),
        jobmanager_memory=str(merged["jobmanagerMemory"]),
        parallelism=positive_int(f"{OWN}flink.parallelism", merged["parallelism"]),
        settings=_flink_settings(merged["settings"]),
        python=boolean(f"{OWN}flink.python", merged["python"]),
        state=choice(f"{OWN}flink.state", merged["state"], STATE_STORES),
    )


def _flink_settings(merged: Mapping[str, Any]) -> dict[str, str]:
    """flink.settings: the defaults with the stack's keys over them (null drops a default), as text."""
    field = f"{OWN}flink.settings"
    if not isinstance(merged, Mapping):
        fail(field, merged, "must be an object", "give Flink options as `key: value` pairs, e.g. "
             "`pulumi config set --path 'flink-swarm:flink.settings[\"state.backend.type\"]' rocksdb`")
    out = {}
    for key, value in merged.items():
        if not isinstance(key, str) or not FLINK_KEY.fullmatch(key):
            fail(field, key, "not a Flink option key", "write the key as Flink's docs name it, e.g. "
                 "execution.checkpointing.interval (letters, digits, '.', '-' and '_')")
        if key in FLINK_OWN_KEYS:
            fail(f"{field}.{key}", value, "set by flink-swarm itself", FLINK_OWN_KEYS[key])
        if any(word in key.lower() for word in FLINK_SENSITIVE):
            fail(f"{field}.{key}", "(not shown)", "a secret, which flink.settings would keep in plain stack "
                 "config and in the services' spec", "leave it out: flink.state gcs or azure gives the "
                 "cluster its bucket's credentials as a Docker secret; other secrets belong in your image")
        if value is None:
            continue
        if isinstance(value, (Mapping, list)):
            fail(f"{field}.{key}", value, "not a single value", "write one value; nested options as one dotted "
                 "key (`state.backend.type: rocksdb`), lists as Flink's `;`-separated text")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if not FLINK_VALUE.fullmatch(text):
            fail(f"{field}.{key}", value, "empty, or has whitespace, '$', '*', '?' or '['",
                 "the Flink image's entrypoint deletes whitespace and expands the rest: write the value "
                 "without them")
        out[key] = text
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
