"""Apply the program's resources to the test hosts for real: a hook for `tests.harness.run_program`.

Under Pulumi's mocks every resource registration comes here first:
- `command:remote:Command`: its `create` runs over real SSH with the connection the program built
  (host, port, user, key, dial attempts and timeout), `stdin` included; `delete` runs on teardown.
- `pulumi:providers:docker`: its `host` and `sshOpts` are used for real (`ssh ... docker version`),
  proving the provider's connection works without an agent.
- `docker:index/network:Network` and `docker:index/service:Service`: mapped field by field onto
  the Docker Engine API of the manager (over SSH to its unix socket). An input this mapping does not
  know fails the test, so the program cannot grow a setting the end-to-end run silently ignores.
It is test code, not a second engine: no diffing, no updates, creation order only.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

from tests.e2e import ssh as ssh_cmd

# POSTs/DELETEs stdin to the Docker Engine API on the host's unix socket; prints status and body.
ENGINE_CALL = r'''
import http.client, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/var/run/docker.sock")
body = sys.stdin.read()
c = C("localhost")
c.request(sys.argv[1], sys.argv[2], body or None, {"Content-Type": "application/json"})
r = c.getresponse()
print(r.status)
print(r.read().decode())
'''


class StepFailed(RuntimeError):
    """A resource could not be applied; the message names the resource (node and step)."""


def nanoseconds(duration: str) -> int:
    """'10s', '5m', '500ms' -> nanoseconds, as the Engine API wants them."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", duration)
    if not match:
        raise StepFailed(f"unsupported duration {duration!r}")
    scale = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[match[2]]
    return int(match[1]) * scale


def _take(inputs: dict, where: str, *known: str) -> dict:
    unknown = set(inputs) - set(known)
    if unknown:
        raise StepFailed(f"{where}: the end-to-end mapping does not know {sorted(unknown)}")
    return inputs


class Realizer:
    """The hook: call it as `hook(type, name, inputs)`; `teardown()` undoes in reverse order."""

    def __init__(self) -> None:
        # (kind, name, inputs, result) in creation order; result: the id, or a command's stdout
        self.created: list[tuple[str, str, dict, Any]] = []
        self.manager: Optional[dict] = None  # the connection of the docker provider's host
        self.commands_done = 0.0  # time.monotonic() when the last remote command finished
        self._keys: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="fs-e2e-keys-"))

    def __call__(self, typ: str, name: str, inputs: dict) -> Optional[dict]:
        handler = {"command:remote:Command": self._command, "pulumi:providers:docker": self._provider,
                   "docker:index/network:Network": self._network,
                   "docker:index/service:Service": self._service}.get(typ)
        if handler is None:
            return None  # keys, passwords, components: the harness's fake outputs
        return handler(name, inputs)

    # --- SSH -----------------------------------------------------------------------------
    def _key_file(self, private_key: str) -> Path:
        with self._lock:
            if private_key not in self._keys:
                path = self._dir / f"key-{len(self._keys)}"
                path.touch(mode=0o600)
                path.write_text(private_key)
                self._keys[private_key] = path
            return self._keys[private_key]

    def ssh(self, conn: dict, command: str, stdin: str = "", what: str = "") -> tuple[str, str]:
        """Run `command` as the connection says, retrying dials as the connection bounds them."""
        args = ssh_cmd.argv(conn["user"], conn["host"], conn.get("port", 22), self._key_file(conn["privateKey"]),
                            command, connect_timeout=conn["perDialTimeout"])
        dials = int(conn["dialErrorLimit"])
        for _ in range(dials):
            done = subprocess.run(args, input=stdin, capture_output=True, text=True)
            if done.returncode != 255:  # 255: ssh itself failed (connect, auth)
                break
            time.sleep(1)
        else:
            raise StepFailed(f"{what}: cannot reach {conn['host']} over SSH after {dials} dials: "
                             f"{done.stderr.strip()[-300:]}")
        if done.returncode != 0:
            raise StepFailed(f"{what}: exit {done.returncode} on {conn['host']}: {done.stderr.strip()[-800:]}")
        return done.stdout, done.stderr

    def engine(self, method: str, path: str, body: Optional[dict] = None, what: str = "") -> Any:
        """One Docker Engine API call on the manager."""
        assert self.manager is not None, "the docker provider comes before network and services"
        out, _ = self.ssh(self.manager, f"python3 -c {shlex.quote(ENGINE_CALL)} {method} {path}",
                          json.dumps(body) if body is not None else "", what)
        status, _, text = out.partition("\n")
        if not status.startswith("2"):
            raise StepFailed(f"{what}: {method} {path} answered {status}: {text.strip()}")
        return json.loads(text) if text.strip() else None

    # --- resources -----------------------------------------------------------------------
    def _command(self, name: str, inputs: dict) -> dict:
        _take(inputs, name, "connection", "create", "delete", "stdin", "logging")
        stdout = stderr = ""
        if "create" in inputs:  # a delete-only command runs nothing now
            stdout, stderr = self.ssh(inputs["connection"], inputs["create"], inputs.get("stdin", ""), name)
        with self._lock:
            self.created.append(("command", name, inputs, stdout))
            self.commands_done = time.monotonic()
        return {"stdout": stdout, "stderr": stderr}

    def _provider(self, name: str, inputs: dict) -> dict:
        match = re.fullmatch(r"ssh://([^@]+)@([^:]+):(\d+)", inputs["host"])
        assert match, inputs["host"]
        user, host, port = match.groups()
        opts = json.loads(inputs["sshOpts"])
        done = subprocess.run(["ssh", *opts, "-p", port, f"{user}@{host}", "docker", "version", "-f",
                               "{{.Server.Version}}"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise StepFailed(f"provider {name}: ssh with the provider's options failed: {done.stderr.strip()}")
        key = Path(opts[opts.index("-i") + 1]).read_text()
        self.manager = {"host": host, "user": user, "port": int(port), "privateKey": key,
                        "dialErrorLimit": 3, "perDialTimeout": 10}
        return {}

    def _network(self, name: str, inputs: dict) -> dict:
        _take(inputs, name, "name", "driver", "attachable", "options", "ipamConfigs")
        body = {"Name": inputs["name"], "Driver": inputs["driver"], "Attachable": inputs.get("attachable", False),
                "Options": inputs.get("options") or {}, "CheckDuplicate": True,
                "IPAM": {"Driver": "default", "Config": [
                    {"Subnet": _take(c, name, "subnet")["subnet"]} for c in inputs.get("ipamConfigs", [])]}}
        network_id = self.engine("POST", "/networks/create", body, name)["Id"]
        with self._lock:
            self.created.append(("network", name, inputs, network_id))
        return {"id": network_id}

    def _service(self, name: str, inputs: dict) -> dict:
        _take(inputs, name, "name", "mode", "taskSpec", "endpointSpec", "updateConfig", "rollbackConfig")
        spec = _take(inputs["taskSpec"], name, "containerSpec", "placement", "networksAdvanceds", "restartPolicy")
        container = _take(spec["containerSpec"], name, "image", "args", "env")
        restart = _take(spec["restartPolicy"], name, "condition", "delay", "window")
        endpoint = _take(inputs["endpointSpec"], name, "mode", "ports")
        mode = _take(inputs["mode"], name, "replicated", "global")

        def update(cfg: dict) -> dict:
            cfg = _take(cfg, name, "parallelism", "delay", "order", "failureAction", "monitor")
            out = {"Parallelism": int(cfg["parallelism"]), "Order": cfg["order"]}
            if "delay" in cfg:
                out["Delay"] = nanoseconds(cfg["delay"])
            if "monitor" in cfg:
                out["Monitor"] = nanoseconds(cfg["monitor"])
            if "failureAction" in cfg:
                out["FailureAction"] = cfg["failureAction"]
            return out

        body = {
            "Name": inputs["name"],
            "TaskTemplate": {
                "ContainerSpec": {"Image": container["image"], "Args": container.get("args", []),
                                  "Env": [f"{k}={v}" for k, v in container.get("env", {}).items()]},
                "Placement": {"Constraints": _take(spec["placement"], name, "constraints")["constraints"]},
                "Networks": [{"Target": _take(n, name, "id", "aliases")["id"], "Aliases": n.get("aliases", [])}
                             for n in spec["networksAdvanceds"]],
                "RestartPolicy": {"Condition": restart["condition"], "Delay": nanoseconds(restart["delay"]),
                                  "Window": nanoseconds(restart["window"])},
            },
            "Mode": ({"Replicated": {"Replicas": int(mode["replicated"]["replicas"])}} if "replicated" in mode
                     else {"Global": {}}),
            "EndpointSpec": {"Mode": endpoint["mode"], "Ports": [
                {"Name": p["name"], "Protocol": p["protocol"], "TargetPort": int(p["targetPort"]),
                 "PublishedPort": int(p["publishedPort"]), "PublishMode": p["publishMode"]}
                for p in (_take(q, name, "name", "protocol", "targetPort", "publishedPort", "publishMode")
                          for q in endpoint.get("ports", []))]},
            "UpdateConfig": update(inputs["updateConfig"]),
            "RollbackConfig": update(inputs["rollbackConfig"]),
        }
        service_id = self.engine("POST", "/services/create", body, name)["ID"]
        with self._lock:
            self.created.append(("service", name, inputs, service_id))
        return {"id": service_id}

    # --- teardown ------------------------------------------------------------------------
    def teardown(self) -> list[str]:
        """Undo everything in reverse creation order, as `pulumi destroy` would; returns what ran."""
        undone = []
        for kind, name, inputs, resource_id in reversed(self.created):
            if kind == "service":
                self.engine("DELETE", f"/services/{resource_id}", None, f"delete {name}")
            elif kind == "network":
                for _ in range(30):  # the services' tasks release the network a moment after removal
                    try:
                        self.engine("DELETE", f"/networks/{resource_id}", None, f"delete {name}")
                        break
                    except StepFailed:
                        time.sleep(2)
                else:
                    raise StepFailed(f"delete {name}: the network is still in use")
            elif inputs.get("delete"):
                self.ssh(inputs["connection"], inputs["delete"], "", f"delete {name}")
            else:
                continue
            undone.append(name)
        self.created.clear()
        return undone
