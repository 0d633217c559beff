"""flink.settings: which Flink options a stack may set, and which values reach Flink unchanged.

Keys are matched whatever their case: `Rest.Bind-Port` is refused like `rest.bind-port`.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Mapping

from .checks import fail
from .types import OWN

FIELD = f"{OWN}flink.settings"
# A Flink option key, and a value the image's entrypoint passes on unchanged. It reads FLINK_PROPERTIES a
# line at a time, deletes every whitespace character, splits at the first ':', expands the value with
# envsubst and echoes it unquoted (globbing it against the working directory; a leading '-' is an option
# of echo) (apache/flink-docker 1.20/scala_2.12-java17-ubuntu/docker-entrypoint.sh:104-128).
FLINK_KEY = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
VALUE_PROBLEMS = (  # what a value must not have, and why
    (r"^$", "empty"),
    (r"[\x00-\x1f\x7f]", "has control characters (a new line would start another option)"),
    (r"\s", "has whitespace, which the entrypoint deletes"),
    (r"[$*?\[]", "has '$', '*', '?' or '[', which the entrypoint expands"),
    (r"^-", "starts with '-', which the entrypoint's echo takes as an option"),
    (r":$", "ends with ':', which Flink's YAML configuration reads as a nested key"))
MAX_KEY, MAX_VALUE = 200, 1024
_PORTS = "addresses and ports come from the port table (components/ports.py) and the services' names: leave it out"
_HA = "flink-swarm runs ZooKeeper high availability itself (docs/jobs.md \"Durable state\"): leave it out"
# The Flink options the program writes itself (as it spells them), and what to set instead.
WRITTEN = {
    **dict.fromkeys(("jobmanager.rpc.address", "jobmanager.rpc.port", "blob.server.port", "query.server.port",
                     "rest.port", "taskmanager.rpc.port", "taskmanager.data.port"), _PORTS),
    "taskmanager.numberOfTaskSlots": "set flink-swarm:flink.taskSlots instead",
    "taskmanager.memory.process.size": "set flink-swarm:flink.taskmanagerMemory instead",
    "jobmanager.memory.process.size": "set flink-swarm:flink.jobmanagerMemory instead",
    "parallelism.default": "set flink-swarm:flink.parallelism instead",
    **dict.fromkeys(("high-availability.type", "high-availability.zookeeper.quorum", "high-availability.storageDir",
                     "high-availability.jobmanager.port"), _HA),
    **dict.fromkeys(("metrics.reporter.prom.factory.class", "metrics.reporter.prom.port"),
                    "flink-swarm:monitoring runs Flink's Prometheus reporter as `prom`: leave it out, or name "
                    "a reporter of your own otherwise (metrics.reporter.<name>.*)"),
}
# ... and, lower case, those with the ones that would break the cluster it builds (Flink 1.20's names).
OWN_KEYS = {
    **{key.lower(): fix for key, fix in WRITTEN.items()},
    **dict.fromkeys(("jobmanager.rpc.bind-port", "jobmanager.bind-host", "rest.bind-port", "rest.address",
                     "rest.bind-address", "taskmanager.host", "taskmanager.bind-host", "taskmanager.rpc.bind-port",
                     "taskmanager.data.bind-port", *(f"sql-gateway.endpoint.rest.{name}" for name in (
                         "address", "bind-address", "port", "bind-port"))), _PORTS),
    "execution.target": "the SQL gateway submits to the cluster flink-swarm runs (remote): leave it out",
    "high-availability": _HA,  # the deprecated name of high-availability.type
}
HA_FAMILY = "high-availability."  # all refused (cluster-id, zookeeper.path.root, storageDir...) but these tunables
HA_TUNABLES = {f"high-availability.zookeeper.client.{name}" for name in (
    "session-timeout", "connection-timeout", "retry-wait", "max-retry-attempts", "tolerate-suspended-connections")}
# Secrets (flink-core GlobalConfiguration.java SENSITIVE_KEYS, release-1.20, and the SAS and API-key
# options of the filesystems and reporters): flink.settings is plain stack config, so they are refused;
# the patterns match the lower-case key, the exceptions are switches and tunables, not secrets.
SENSITIVE = ("*password*", "*secret*", "fs.azure.account.key*", "fs.azure.sas*", "*.sas.*", "*apikey*", "*api-key*",
             "*api_key*", "*auth-params*", "*service-key*", "*token*", "*basic-auth*", "*jaas.config*",
             "*http-headers*", "*private-key*", "*private.key*")
NOT_SENSITIVE = ("security.delegation.tokens.*", "security.delegation.token.provider.*.enabled")
# Where checkpoints and savepoints go: Flink 1.20's names and their older aliases, which the program writes
# from flink.state; a stack's value must still work with it.
STORAGE = ("execution.checkpointing.storage", "state.checkpoint-storage")
DIRS = {"checkpoints": ("execution.checkpointing.dir", "state.checkpoints.dir"),
        "savepoints": ("execution.checkpointing.savepoint-dir", "state.savepoints.dir")}
BUCKET_SCHEMES = {"gcs": "gs", "azure": "abfss"}


def check_key(key: Any, value: Any) -> None:
    """A key a stack may set: Flink's form, not the program's own, not a secret."""
    if not isinstance(key, str) or len(key) > MAX_KEY or not FLINK_KEY.fullmatch(key):
        fail(FIELD, key, "not a Flink option key", "write the key as Flink's docs name it, e.g. "
             "execution.checkpointing.interval (letters, digits, '.', '-' and '_')")
    lower = key.lower()
    if lower in OWN_KEYS or (lower.startswith(HA_FAMILY) and lower not in HA_TUNABLES):
        written = lower in {name.lower() for name in WRITTEN}
        fail(f"{FIELD}.{key}", value, "set by flink-swarm itself" if written else "would break the cluster "
             "flink-swarm builds", OWN_KEYS.get(lower, _HA))
    if is_secret(lower):
        fail(f"{FIELD}.{key}", None, "a secret, which flink.settings would keep in plain stack config and in "
             "the services' spec", "leave it out: flink.state gcs or azure gives the cluster its bucket's "
             "credentials as a Docker secret; other secrets belong in your image", shown="value not shown")


def is_secret(lower: str) -> bool:
    """A lower-case option key that names a secret (SENSITIVE, but for NOT_SENSITIVE)."""
    return (any(fnmatch.fnmatchcase(lower, pattern) for pattern in SENSITIVE)
            and not any(fnmatch.fnmatchcase(lower, pattern) for pattern in NOT_SENSITIVE))


def value_text(key: str, value: Any) -> str:
    """One value as the entrypoint passes it on."""
    if isinstance(value, (Mapping, list)):
        fail(f"{FIELD}.{key}", value, "not a single value", "write one value; nested options as one dotted "
             "key (`state.backend.type: rocksdb`), lists as Flink's `;`-separated text")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    problem = next((problem for pattern, problem in VALUE_PROBLEMS if re.search(pattern, text)), None)
    if problem or len(text) > MAX_VALUE:
        fail(f"{FIELD}.{key}", value, problem or f"longer than {MAX_VALUE} characters", "write the value "
             "without them: one line of at most 1024 characters, without whitespace, '$', '*', '?' or '[', "
             "not starting with '-' nor ending with ':'")
    return text


def check_state(settings: Mapping[str, str], state: str) -> None:
    """Checkpoint storage and directories that work with flink.state: on `node` only the jobmanager's
    node keeps files (taskmanagers writing `filesystem` checkpoints to file:// would scatter them over
    their own nodes); a bucket's credential reaches only its own scheme, and `jobmanager` storage would
    keep the state in the jobmanager's memory."""
    given = {key.lower(): (key, value) for key, value in settings.items()}
    storage = next((given[name] for name in STORAGE if name in given), None)
    if storage and storage[1].lower() not in ("jobmanager", "filesystem"):
        fail(f"{FIELD}.{storage[0]}", storage[1], "not a checkpoint storage flink-swarm can set up",
             "write jobmanager or filesystem, or leave it out (flink.state chooses)")
    dirs = [given[name] for names in DIRS.values() for name in names if name in given]
    # each directory as Flink will see it: the stack's, or the program's file:// one on the jobmanager's node
    effective = [next((given[name][1] for name in names if name in given), "file://") for names in DIRS.values()]
    if state in BUCKET_SCHEMES:
        if storage and storage[1].lower() == "jobmanager":
            fail(f"{FIELD}.{storage[0]}", storage[1], f"flink.state {state} keeps checkpoints in its bucket; "
                 "jobmanager storage keeps the state in the jobmanager's memory", "leave it out")
        for key, value in dirs:
            if _scheme(value) != BUCKET_SCHEMES[state]:
                fail(f"{FIELD}.{key}", value, f"not under {BUCKET_SCHEMES[state]}://: with flink.state {state} "
                     "the cluster holds credentials for its own bucket only", "leave it out (the program "
                     "writes the bucket's paths), or use flink.state node for a filesystem of your own")
    elif storage and storage[1].lower() == "filesystem" and any(_scheme(value) == "file" for value in effective):
        fail(f"{FIELD}.{storage[0]}", storage[1], "with flink.state node only the jobmanager's node keeps "
             "files: taskmanagers would write checkpoints to file:// paths on their own nodes",
             f"leave it out, or also set {DIRS['checkpoints'][0]} and {DIRS['savepoints'][0]} to a filesystem of "
             "your own (its plugin in your image, e.g. s3://bucket/checkpoints), or use flink.state gcs or azure")


def _scheme(value: str) -> str:
    """A path's URI scheme, lower case; a path without one is a local file."""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", value)
    return match[1].lower() if match else "file"

