"""`command:remote:Command` over real SSH, as pulumi-command v1.2.1 runs it.

Sources (pulumi/pulumi-command tag v1.2.1, commit 7f3eb6f3; PC = provider/pkg/provider/):
- no custom Diff: old inputs (defaults applied) against new inputs; only `triggers` replaces, through
  the SDK's own `replace_on_changes=["triggers[*]"]` (python command.py:455-456); everything else,
  `connection` and `delete` included, is an in-place update; deleteBeforeReplace is never returned
  (pulumi-go-provider v1.3.0 infer/resource.go:1132-1253);
- create runs `create` (nothing if unset); update runs `update`, else `create`, with the new
  connection and stdin; delete runs the *old* state's `delete` over the old connection
  (PC remote/commandController.go:31-92);
- on update and delete the previous stdout/stderr go out as PULUMI_COMMAND_STDOUT/STDERR unless
  `addPreviousOutputInEnv` is false (PC remote/commandOutputs.go:42-71): recorded in `env_sent`;
- a failure reads `<ssh error>: running "<command>":\n<stdout and stderr>`, whatever `logging`
  says (commandOutputs.go:73-107); stdout/stderr lose one trailing newline;
- dials: `dialErrorLimit` N means N+1 attempts, waits from 100 ms growing 1.5x up to 5 s, then
  `after N failed attempts: <error>`; `perDialTimeout` bounds the TCP connect (PC connection.go:150-202);
  defaults user root, port 22, 10 dials, 15 s (connection.go:57-78);
- `hostKey`: the host must present exactly that key (ssh.FixedHostKey, connection.go:85-98); a
  mismatch is a dial error like any other, `ssh: handshake failed: ssh: host key mismatch`.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.e2e import ssh as ssh_cmd

from .state import Goal, ResourceState
from . import Diff, changed_paths

DEFAULTS = {"user": "root", "port": 22, "dialErrorLimit": 10, "perDialTimeout": 15}


class CommandFailed(RuntimeError):
    pass


class RemoteCommand:
    """Runs each command's text over `ssh` with the connection it carries."""

    def __init__(self) -> None:
        self.env_sent: list[tuple[str, str, str]] = []  # (resource, variable, value) the provider would Setenv
        self.ran: list[tuple[str, str, str]] = []  # (resource, operation, host) in the order they finished
        self._keys: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="fs-engine-keys-")

    # --- provider operations ---------------------------------------------------------------
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        olds = old.inputs
        paths = changed_paths(self._defaults(olds), self._defaults(news))
        replaces = tuple(p for p in paths if p == "triggers")  # only a whole add or remove replaces here
        return Diff(bool(paths), replaces, tuple(paths))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        stdout, stderr = ("", "")
        if news.get("create"):
            stdout, stderr = self.run(goal.name, "create", news, news["create"], {})
        return f"{goal.name}-{secrets.token_hex(4)}", {**news, "stdout": stdout, "stderr": stderr}

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        text = news.get("update") or news.get("create")
        previous = old.outputs_plain()
        stdout, stderr = previous.get("stdout", ""), previous.get("stderr", "")
        if text:
            stdout, stderr = self.run(old.name, "update", news, text, self._previous_env(news, previous))
        return {**news, "stdout": stdout, "stderr": stderr}

    def delete(self, old: ResourceState, config: dict) -> None:
        state = old.outputs_plain()
        if state.get("delete"):
            self.run(old.name, "delete", state, state["delete"], self._previous_env(state, state))

    # --- running ---------------------------------------------------------------------------
    @staticmethod
    def _defaults(inputs: dict) -> dict:
        out = dict(inputs)
        if "connection" in out:
            out["connection"] = {**DEFAULTS, **out["connection"]}
        return out

    @staticmethod
    def _previous_env(inputs: dict, previous: dict) -> dict[str, str]:
        if inputs.get("addPreviousOutputInEnv", True) is False:
            return {}
        return {name: previous[key] for name, key in (("PULUMI_COMMAND_STDOUT", "stdout"),
                                                      ("PULUMI_COMMAND_STDERR", "stderr")) if previous.get(key)}

    def _key_file(self, private_key: str) -> Path:
        with self._lock:
            if private_key not in self._keys:
                path = Path(self._dir.name, f"key-{len(self._keys)}")
                path.touch(mode=0o600)
                path.write_text(private_key)
                self._keys[private_key] = path
            return self._keys[private_key]

    def _known_hosts(self, conn: dict) -> dict:
        """ssh options that pin the connection's `hostKey`, if it has one."""
        if not conn.get("hostKey"):
            return {}
        key_type, key = conn["hostKey"].split()[:2]
        host = conn["host"] if int(conn["port"]) == 22 else f"[{conn['host']}]:{int(conn['port'])}"
        path = Path(self._dir.name, f"known_hosts-{secrets.token_hex(4)}")
        path.write_text(f"{host} {key_type} {key}\n")
        return {"known_hosts": path, "host_key_type": key_type}

    def run(self, name: str, operation: str, inputs: dict, text: str, env: dict[str, str]) -> tuple[str, str]:
        """Run `text` with `inputs`' connection and stdin; returns (stdout, stderr) or raises CommandFailed."""
        conn = {**DEFAULTS, **inputs["connection"]}
        with self._lock:
            self.env_sent += [(name, key, value) for key, value in env.items()]
        args = ssh_cmd.argv(conn["user"], conn["host"], conn["port"], self._key_file(conn["privateKey"]), text,
                            connect_timeout=conn["perDialTimeout"], **self._known_hosts(conn))
        limit, wait = int(conn["dialErrorLimit"]), 0.1
        for attempt in range(limit + 1):
            done = subprocess.run(args, input=inputs.get("stdin") or "", capture_output=True, text=True)
            if done.returncode != 255:  # 255: ssh itself failed (connect, handshake, auth)
                break
            if attempt == limit:
                error = done.stderr.strip()[-300:]
                if "Host key verification failed" in error or "HOST IDENTIFICATION HAS CHANGED" in error:
                    error = "ssh: handshake failed: ssh: host key mismatch"  # x/crypto ssh/client.go:262-263
                raise CommandFailed(f"after {limit} failed attempts: {error}")
            time.sleep(wait)
            wait = min(wait * 1.5, 5.0)
        if done.returncode != 0:
            raise CommandFailed(f"Process exited with status {done.returncode}: running {json.dumps(text)}:\n"
                                f"{done.stdout}{done.stderr}")
        with self._lock:
            self.ran.append((name, operation, conn["host"]))
        return done.stdout.removesuffix("\n"), done.stderr.removesuffix("\n")


class LocalCommand(RemoteCommand):
    """`command:local:Command` as pulumi-command v1.2.1 runs it (PC local/commandOutputs.go:39-115): the
    text under `/bin/sh -c` on this machine, in the working directory, with this process's environment
    (the `pulumi` CLI's: its plugins inherit it); a failure reads `<exit error>: running "<command>":\n
    <stdout and stderr>`. Diff, create, update and delete as the remote command's (commandController.go)."""

    def run(self, name: str, operation: str, inputs: dict, text: str, env: dict[str, str]) -> tuple[str, str]:
        with self._lock:
            self.env_sent += [(name, key, value) for key, value in env.items()]
        done = subprocess.run(["/bin/sh", "-c", text], input=inputs.get("stdin") or "", capture_output=True,
                              text=True, env={**os.environ, **(inputs.get("environment") or {}), **env})
        if done.returncode != 0:
            raise CommandFailed(f"exit status {done.returncode}: running {json.dumps(text)}:\n"
                                f"{done.stdout}{done.stderr}")
        with self._lock:
            self.ran.append((name, operation, "localhost"))
        return done.stdout.removesuffix("\n"), done.stderr.removesuffix("\n")
