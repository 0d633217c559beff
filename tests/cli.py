"""The real `pulumi` CLI on a copy of the project, offline, with stand-in provider plugins.

`toolchain()` builds (or finds cached) the CLI and the Python language host with
tests/toolchain/build.sh; `Project` copies the checkout into a folder of the test's (so `pulumi stack
init` and `pulumi config set` write their stack files there, not into the checkout), points its
`venv/` and `policy/venv/` at the interpreter running the tests, and runs the CLI in it against a
`file://` backend with every download off: plugins come only from PATH, where tests/plugins/bin puts
the stand-ins for the providers that cannot be built here.
"""
from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "tests" / "toolchain" / "build.sh"
PLUGINS = ROOT / "tests" / "plugins" / "bin"
PASSPHRASE = "flink-swarm-tests"  # the file backend's secrets passphrase; the stacks are test stacks
SKIP = {".git", "venv", ".ci-venv", ".pytest_cache", "__pycache__"}


@lru_cache(maxsize=1)
def toolchain() -> Path:
    """The folder holding `pulumi` and the language host: $FLINK_SWARM_TOOLCHAIN, else built now."""
    given = os.environ.get("FLINK_SWARM_TOOLCHAIN")
    if given:
        return Path(given)
    if not shutil.which("go"):
        raise RuntimeError("the real pulumi CLI is built from Go modules: put Go 1.26 or newer on PATH "
                           "(https://go.dev/doc/install; Debian 12's golang-go is too old), then run "
                           "tests/toolchain/build.sh")
    done = subprocess.run(["bash", str(BUILD)], stdout=subprocess.PIPE, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


class CommandFailed(AssertionError):
    pass


# The step ops that stand for a replacement's two halves; the logical `replace` step counts it once
# (pulumi/pulumi pkg/engine/update.go, the summary counts logical steps only).
HALVES = ("create-replacement", "delete-replaced", "discard-replaced")


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    name: str
    urn: str
    keys: tuple[str, ...] = ()  # the inputs that changed (update) or force the replacement (replace)
    at: int = 0  # when it started, seconds into the run (the event log's resolution)
    seconds: int = 0
    old_delete: bool = False  # the old state has a `delete` command (pulumi-command runs it on delete)


@dataclass
class Plan:
    """What one `pulumi up`, `preview` or `destroy` did, read from its `--event-log`: the steps in the
    order they finished (pulumi/pulumi sdk/go/common/apitype/events.go: ResOutputsEvent)."""

    steps: list[Step] = field(default_factory=list)
    error: str = ""
    policy: list[dict] = field(default_factory=list)  # PolicyEvents: policyName, enforcementLevel, message
    seconds: int = 0

    @classmethod
    def of_events(cls, path: Path, error: str = "") -> "Plan":
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        start = events[0]["timestamp"] if events else 0
        begun: dict[tuple[str, str], int] = {}
        plan = cls(error=error, seconds=(events[-1]["timestamp"] - start) if events else 0)
        for event in events:
            pre, done = event.get("resourcePreEvent"), event.get("resOutputsEvent")
            if pre:
                meta = pre["metadata"]
                begun[meta["op"], meta["urn"]] = event["timestamp"] - start
            elif done:
                meta = done["metadata"]
                at = begun.get((meta["op"], meta["urn"]), event["timestamp"] - start)
                old = (meta.get("old") or {}).get("inputs") or {}
                plan.steps.append(Step(meta["op"], meta["type"], meta["urn"].rsplit("::", 1)[1], meta["urn"],
                                       tuple(meta.get("keys") or meta.get("diffs") or ()), at,
                                       event["timestamp"] - start - at, bool(old.get("delete"))))
            elif event.get("policyEvent"):
                plan.policy.append(event["policyEvent"])
        return plan

    def logical(self) -> list[Step]:
        """The steps the summary counts: the stack, components and resources, a replacement once (the
        default providers the engine makes are left out: they are not the program's)."""
        return [s for s in self.steps if s.op not in HALVES and not _default_provider(s.type, s.name)]

    def counts(self) -> dict[str, int]:
        counts = {op: 0 for op in ("same", "create", "update", "delete", "replace")}
        for step in self.logical():
            counts[step.op] = counts.get(step.op, 0) + 1
        return counts

    def names(self, *ops: str) -> set[str]:
        """Names of the resources with one of `ops` (logical steps)."""
        return {s.name for s in self.logical() if s.op in ops}

    def changed(self) -> dict[str, str]:
        """name -> op of every logical step that is not `same` (names are unique in this program)."""
        return {s.name: s.op for s in self.logical() if s.op != "same"}

    def ran(self) -> list[tuple[str, str]]:
        """(name, create | update | delete) of every remote command that ran, in the order they
        finished: creates and updates, and the deletes of commands with a `delete` (pulumi-command
        runs nothing for the others); a replacement is its delete and its create."""
        kind = {"create-replacement": "create", "delete-replaced": "delete"}
        return [(s.name, kind.get(s.op, s.op)) for s in self.steps if s.type == "command:remote:Command"
                and s.op in ("create", "update", "delete", *kind)
                and (kind.get(s.op, s.op) != "delete" or s.old_delete)]

    def phases(self) -> list[tuple[str, int, int]]:
        """(phase, first start, last end) in seconds into the run, by start: a remote command's phase is
        its step (the name's last part: `-docker`, `-join`), any other resource's its name."""
        spans: dict[str, list[int]] = {}
        for s in self.steps:
            if s.op not in ("same", "replace") and not s.type.startswith(("pulumi:pulumi:", "flink-swarm:")) \
                    and not _default_provider(s.type, s.name):
                phase = s.name.rsplit("-", 1)[-1] if s.type == "command:remote:Command" else s.name
                start, end = spans.setdefault(phase, [s.at, s.at + s.seconds])
                spans[phase] = [min(start, s.at), max(end, s.at + s.seconds)]
        return sorted(((p, a, b) for p, (a, b) in spans.items()), key=lambda span: span[1])


class Project:
    """A copy of the checkout in `folder`, and the CLI run in it (`pulumi(...)`)."""

    def __init__(self, folder: Path, mode: str = "fake"):
        self._runs = itertools.count(1)
        self.dir = folder / "project"
        shutil.copytree(ROOT, self.dir, ignore=lambda _d, names: [n for n in names if n in SKIP])
        for venv in (self.dir / "venv", self.dir / "policy" / "venv"):
            venv.symlink_to(sys.prefix)
        self.env = dict(
            os.environ,
            PATH=os.pathsep.join([str(toolchain()), str(PLUGINS), str(Path(sys.executable).parent),
                                  os.environ.get("PATH", "")]),
            PULUMI_HOME=str(folder / "pulumi-home"),
            PULUMI_BACKEND_URL=(folder / "state").as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_DEBUG_COMMANDS="true",  # offers --event-log (pkg/cmd/pulumi/operations/up.go:1022-1027)
            FLINK_SWARM_PYTHON=sys.executable,  # the stand-in plugins' interpreter
            FLINK_SWARM_STANDINS=mode,
            FLINK_SWARM_KEY_DIR=str(folder / "keys"),  # the stack's SSH files (components/sshkey.py)
            FLINK_SWARM_STANDIN_LOG=str(folder / "standins.jsonl"),  # what the stand-ins did (one JSON a line)
            FLINK_SWARM_STANDIN_STATE=str(folder / "standins"),  # their counters (addresses, node ids) across runs
        )
        (folder / "state").mkdir(exist_ok=True)
        self._applied: dict[str, Any] = {}  # the config the last `up(config)` set

    def copy(self, folder: Path) -> "Project":
        """This project and all it ran (the stack's state, the CLI's home, the stand-ins' state and log)
        copied into `folder`, to go on from there as if the copy had run it: a first `up` made once
        serves many tests. The SSH files stay where they are (the copy's program writes the same ones
        there): their paths are inputs of the docker provider."""
        shutil.copytree(self.dir.parent, folder, symlinks=True)
        twin = copy.copy(self)
        twin.dir, twin._runs, twin._applied = folder / "project", copy.copy(self._runs), dict(self._applied)
        old = str(self.dir.parent)
        twin.env = {k: v if k == "FLINK_SWARM_KEY_DIR" else v.replace(old, str(folder)) for k, v in self.env.items()}
        # the CLI keeps the selected stack per project folder (its home's workspaces/)
        twin.pulumi("stack", "select", self.pulumi("stack", "--show-name").stdout.strip())
        return twin

    def pulumi(self, *args: str, check: bool = True, stdin: str = "", timeout: float = 900,
               env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
        """`pulumi <args>` non-interactively in the project (`env`: variables to change for this run); a
        failure raises with its output."""
        done = subprocess.run(["pulumi", "--non-interactive", *args], cwd=self.dir, env={**self.env, **(env or {})},
                              input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise CommandFailed(f"pulumi {' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout[-6000:]}"
                                f"\n--- stderr\n{done.stderr[-6000:]}")
        return done

    def json(self, *args: str, check: bool = True) -> Any:
        return json.loads(self.pulumi(*args, "--json", check=check).stdout)

    def run(self, command: str, *args: str, check: bool = True, env: Optional[dict[str, str]] = None) -> Plan:
        """`pulumi <command> --yes` (up, destroy, refresh; or preview) with an event log: its Plan. With
        `check=False` a failed run gives a Plan whose `error` holds the CLI's output."""
        log = self.dir.parent / f"events-{next(self._runs)}.jsonl"
        yes = () if command == "preview" else ("--yes",)
        done = self.pulumi(command, *yes, "--event-log", str(log), *args, check=check, env=env)
        return Plan.of_events(log, "" if done.returncode == 0 else done.stdout + done.stderr)

    def up(self, config: dict[str, Any], replace: Iterable[str] = (), check: bool = True) -> Plan:
        """A day-two `pulumi up`: the keys the last `up(config)` set become exactly `config` (a key whose
        value changed or that is gone is `pulumi config rm`ed, since `--path` would keep keys under it,
        then what changed is set), the resources named in `replace` are `--replace`d by URN, and `pulumi
        up --skip-preview` runs (its plan is the update's own)."""
        for key in [k for k, v in self._applied.items() if config.get(k) != v]:
            self.pulumi("config", "rm", key)
        self.set_config({k: v for k, v in config.items() if self._applied.get(k) != v})
        self._applied = dict(config)
        urns = {name: r["urn"] for name, r in self.resources().items()} if replace else {}
        return self.run("up", "--skip-preview", *(a for name in replace for a in ("--replace", urns[name])),
                        check=check)

    def set_config(self, settings: dict[str, Any], secret: bool = False) -> None:
        """`pulumi config set` for each key (full, e.g. `flink-swarm:flink`); objects and lists go in
        path by path with `--path`, as a user sets them."""
        for key, value in settings.items():
            for path, leaf in _paths(key, value):
                self.pulumi("config", "set", *(("--path",) if path != key else ()),
                            *(("--secret",) if secret else ()), path, "--", _text(leaf))

    def standin_log(self) -> list[dict]:
        """What the stand-in plugins recorded, one entry per operation (tests/plugins)."""
        path = Path(self.env["FLINK_SWARM_STANDIN_LOG"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def resources(self) -> dict[str, dict]:
        """The stack's state by resource name: `pulumi stack export` (inputs, outputs, dependencies), its
        secrets revealed (as plain values)."""
        deployment = json.loads(self.pulumi("stack", "export", "--show-secrets").stdout)["deployment"]
        return {r["urn"].rsplit("::", 1)[1]: _revealed(r) for r in deployment.get("resources", [])}

    def preview(self, *args: str) -> dict:
        """`pulumi preview --json`: its steps, diagnostics and change summary."""
        return self.json("preview", *args)

    def outputs(self, *args: str) -> dict:
        return self.json("stack", "output", "--show-secrets", *args)


def ops(preview: dict) -> dict[str, set[str]]:
    """`pulumi preview --json`'s steps by operation, {"create": {names}, ...}: the stack, components and
    resources, as its changeSummary counts them (the engine's default providers left out)."""
    out: dict[str, set[str]] = {}
    for step in preview.get("steps", []):
        typ, name = step["urn"].split("::")[2].split("$")[-1], step["urn"].rsplit("::", 1)[1]
        if not _default_provider(typ, name):
            out.setdefault(step["op"], set()).add(name)
    return out


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # a secret in a checkpoint (sdk/go/common/resource/sig)


def _revealed(value: Any) -> Any:
    """A checkpoint's value with each `--show-secrets` secret ({sig, "plaintext": JSON}) as its value."""
    if isinstance(value, dict):
        if SECRET_SIG in value and "plaintext" in value:
            return _revealed(json.loads(value["plaintext"]))
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _default_provider(typ: str, name: str) -> bool:
    """A provider the engine made for resources that name none (pkg/resource/deploy/providers/registry.go)."""
    return typ.startswith("pulumi:providers:") and name.startswith("default")


def _paths(key: str, value: Any, path: Optional[str] = None) -> list[tuple[str, Any]]:
    """(path, leaf value) pairs that set `value` at `key` with `pulumi config set --path`."""
    path = path or key
    if isinstance(value, dict):  # a key with dots (Flink's) in quotes: settings["state.backend.type"]
        return [p for k, v in value.items()
                for p in _paths(key, v, f"{path}.{k}" if re.fullmatch(r"[\w-]+", k) else f'{path}["{k}"]')]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(key, v, f"{path}[{i}]")]
    return [(path, value)]


def _text(value: Any) -> str:
    """A leaf as `pulumi config set --path` reads it back ("true", "false" and integers are typed)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)
