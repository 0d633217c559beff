"""pulumi-docker 5.2 (the bridged kreuzwerker/terraform-provider-docker v4.5/4.6) on a real swarm.

Every call goes to the manager's Docker Engine API over SSH, with the docker provider resource's own
`host` and `sshOpts`. What a resource stores is what the real provider stores: the object read back
from the Engine API and flattened as the provider flattens it; the next diff compares the program's
inputs with that, field by field, with the Terraform schema's rules (Optional, Computed, Default,
ForceNew, sets). Sources, in kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c),
internal/provider/ (N = resource_docker_network*.go, S = resource_docker_service*.go):

- network: no Update, every field ForceNew (N.go:17-143); `options` and `ipam_config` Optional+Computed,
  `ipam_driver` Default "default"; `ipam_config` is a set hashed over subnet, gateway, ip_range and
  aux_address with no DiffSuppressFunc (N.go:99-137, 105 commented out); Create ends with a Read
  that waits 2 s first and stores `Options` and the IPAM config as Docker returns them, allocated
  gateway and the overlay's `com.docker.network.driver.overlay.vxlanid_list` included (N_funcs.go:26-203).
- service: ForceNew only on name, auth, mode's presence and every networks_advanced field (S.go:54-58,
  707-734, 762-768); no DiffSuppressFunc on image or durations (only max_failure_ratio, S.go:841, 894);
  Read flattens durations with shortDur (60s -> "1m", S_structures.go:1341-1350) and the image
  verbatim; restart_policy, placement and endpoint_spec are Optional+Computed, update_config and
  rollback_config Optional with Defaults (S.go:602-905); Create asks the registry (QueryRegistry,
  S_funcs.go:45): the client pins a tag to `repo:tag@sha256:...` unless it has a digest already, and
  sets Placement.Platforms from the registry (moby client/service_create.go, imageWithDigestString);
  Update does not (S_funcs.go:185-190).
- the bridge (pulumi-terraform-bridge v3.136 pkg/tfbridge/provider.go:1118-1305) diffs the new inputs
  against the stored state; `ignoreChanges` paths are dropped from the diff (tfshim/sdk-v2/
  instance_diff.go:95-109); a replacement of a resource with an explicit `name` is delete-before-
  replace (tfbridge/schema.go:195-245).
- config and secret: no Update, every field ForceNew; a config's `data` is base64, `data_raw` its
  text; created by name with the Engine's /configs/create and /secrets/create (resource_docker_config.go:
  17-58, resource_docker_secret.go:17-100). A service's container `configs` and `secrets` are sets of
  {id, name, file name, uid, gid, mode} with uid and gid Default "0", mode Default 0o444 (S.go:412-490).
- provider config: a change of `host` or `sshOpts` updates the provider in place; nothing marks it
  ForcesProviderReplace (tfbridge/provider.go:841-894; pulumi-docker provider/resources.go:94-107).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shlex
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

from .state import Goal, ResourceState, Unknown, holds
from . import Diff, changed_paths

# POSTs/GETs/DELETEs stdin to the Docker Engine API on the host's unix socket; prints status and body.
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


class EngineError(RuntimeError):
    def __init__(self, status: int, text: str):
        super().__init__(f"{status}: {text.strip()}")
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def local_engine(host: Optional[str], method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None,
                 content_type: str = "application/json", timeout: float = 600) -> Any:
    """One Engine API call on this machine's socket: the provider's `unix://` host, or the default one
    (the provider's own default when `host` and DOCKER_HOST are unset)."""
    host = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    assert host.startswith("unix://"), f"the docker stand-in reaches local Docker Engines on a unix socket, not {host!r}"
    conn = _UnixConnection(host.removeprefix("unix://"), timeout)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, data, {"Content-Type": content_type})
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise EngineError(response.status, text)
    if content_type != "application/json":
        return text
    return json.loads(text) if text.strip() else None


def engine(config: dict, method: str, path: str, body: Any = None) -> Any:
    """One Engine API call on the provider's host: through `ssh` with the provider's own options, or
    on this machine's socket (a `unix://` host, or none)."""
    if not str(config.get("host") or "unix://").startswith("ssh://"):
        return local_engine(config.get("host"), method, path, body)
    match = re.fullmatch(r"ssh://([^@]+)@([^:/]+)(?::(\d+))?", config["host"])
    assert match, f"the docker provider's host must be ssh://user@host[:port], got {config['host']!r}"
    user, host, port = match.groups()
    opts = json.loads(config["sshOpts"]) if isinstance(config.get("sshOpts"), str) else config.get("sshOpts", [])
    done = subprocess.run(["ssh", *opts, "-p", port or "22", f"{user}@{host}",
                           f"python3 -c {shlex.quote(ENGINE_CALL)} {method} {shlex.quote(path)}"],
                          input=json.dumps(body) if body is not None else "", capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"ssh {user}@{host} with the provider's ssh options failed: {done.stderr.strip()}")
    status, _, text = done.stdout.partition("\n")
    if not status.startswith("2"):
        raise EngineError(int(status), text)
    return json.loads(text) if text.strip() else None


# --- the Terraform schema rules ----------------------------------------------------------------
@dataclass(frozen=True)
class Attr:
    force: bool = False  # ForceNew
    computed: bool = False  # Optional+Computed: a null config keeps the stored value
    default: Any = None
    set: bool = False  # compared as a set
    elem: Optional["Block"] = None  # a list of objects, compared element by element
    keyed: str = ""  # a list whose DiffSuppressFunc matches elements by this field, in any order


@dataclass(frozen=True)
class Block:
    """A nested block (a list of at most one object in Terraform, an object in Pulumi)."""

    fields: dict = field(default_factory=dict)
    force: bool = False  # ForceNew on the block's presence
    computed: bool = False


ZERO = (None, "", 0, False, [], {})


def _unknown(value: Any) -> bool:
    return holds(value, lambda v: isinstance(v, Unknown))


def _number(value: Any) -> Any:
    """Numbers as Terraform compares them: the SDK sends 1.0 where Docker stores 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_number(value), sort_keys=True, default=str)


def _element(schema: "Block", value: Any) -> str:
    """A set element as Terraform hashes it (HashResource): every field, unset ones as zero, sets sorted."""
    if not isinstance(value, dict):
        return _canonical(value)
    out = {}
    for key, spec in schema.fields.items():
        item = value.get(key)
        item = None if item in ZERO else item
        if isinstance(spec, Attr) and spec.set and isinstance(item, list):
            item = sorted(item, key=_canonical)
        out[key] = item
    return _canonical(out)


def schema_diff(schema: Block, config: Any, state: Any, path: str = "") -> list[tuple[str, bool]]:
    """(path, forces replacement) of every difference Terraform's plan would show."""
    out: list[tuple[str, bool]] = []
    config = config if isinstance(config, dict) else {}
    state = state if isinstance(state, dict) else {}
    for key, spec in schema.fields.items():
        where = f"{path}.{key}" if path else key
        new, old = config.get(key), state.get(key)
        if isinstance(spec, Block):
            if new is None:
                if not spec.computed and old not in ZERO:
                    out.append((where, spec.force))
            elif _unknown(new) and not isinstance(new, dict):
                out.append((where, True))
            else:
                if (old in ZERO) != (new in ZERO) and spec.force:
                    out.append((where, True))
                out += schema_diff(spec, new, old, where)
        else:
            out += _attr_diff(spec, new, old, where)
    return out


def _attr_diff(spec: Attr, new: Any, old: Any, where: str) -> list[tuple[str, bool]]:
    if new is None:
        if spec.computed:
            return []
        new = spec.default
        if new is None:
            return [] if old in ZERO else [(where, spec.force)]
    if _unknown(new):
        return [(where, spec.force or bool(spec.elem and any(
            f.force for f in spec.elem.fields.values() if isinstance(f, Attr))))]
    if spec.keyed:
        olds = {_canonical(o[spec.keyed]): o for o in old or []}
        news = {_canonical(n[spec.keyed]): n for n in new or []}
        if olds.keys() != news.keys():
            return [(where, spec.force)]
        return [d for key, item in news.items() for d in schema_diff(spec.elem, item, olds[key], f"{where}[{key}]")]
    if spec.elem is not None:
        olds, news = old or [], new or []
        if spec.set:
            same = sorted(_element(spec.elem, n) for n in news) == sorted(_element(spec.elem, o) for o in olds)
            return [] if same else [(where, spec.force or any(
                f.force for f in spec.elem.fields.values() if isinstance(f, Attr)))]
        if len(olds) != len(news):
            return [(where, spec.force)]
        return [d for i, (a, b) in enumerate(zip(news, olds)) for d in schema_diff(spec.elem, a, b, f"{where}[{i}]")]
    if spec.set:
        return [] if sorted(map(_canonical, new)) == sorted(map(_canonical, old or [])) else [(where, spec.force)]
    if old is None and spec.default is not None:
        old = spec.default
    return [] if _canonical(new) == _canonical(old) else [(where, spec.force)]


def _diff(schema: Block, news: dict, stored: dict, ignore: list[str]) -> Diff:
    found = [(p, force) for p, force in schema_diff(schema, news, stored)
             if not any(p == i or p.startswith(i + ".") or p.startswith(i + "[") for i in ignore)]
    paths = tuple(p for p, _ in found)
    replaces = tuple(p for p, force in found if force)
    return Diff(bool(found), replaces, paths, delete_before_replace=bool(replaces) and "name" in news)


# --- the provider resource -------------------------------------------------------------------
class DockerProvider:
    """`pulumi:providers:docker`: DiffConfig updates in place; create and update prove the SSH path works."""

    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        paths = changed_paths(old.inputs, news)
        return Diff(bool(paths), (), tuple(paths))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        engine(news, "GET", "/version")
        return str(uuid.uuid4()), dict(news)

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        engine(news, "GET", "/version")
        return dict(news)

    def delete(self, old: ResourceState, config: dict) -> None:
        pass


# --- networks ----------------------------------------------------------------------------------
NETWORK = Block({
    "name": Attr(force=True), "driver": Attr(force=True, computed=True),
    "options": Attr(force=True, computed=True), "internal": Attr(force=True, computed=True),
    "attachable": Attr(force=True), "ingress": Attr(force=True), "ipv6": Attr(force=True),
    "ipamDriver": Attr(force=True, default="default"), "ipamOptions": Attr(force=True),
    "labels": Attr(force=True, set=True, elem=Block({"label": Attr(force=True), "value": Attr(force=True)})),
    "ipamConfigs": Attr(force=True, computed=True, set=True, elem=Block({
        k: Attr(force=True) for k in ("subnet", "gateway", "ipRange", "auxAddress")})),
})
NETWORK_INPUTS = set(NETWORK.fields)


class Network:
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        return _diff(NETWORK, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        unknown = set(news) - NETWORK_INPUTS
        assert not unknown, f"{goal.name}: the docker stand-in's network does not know {sorted(unknown)}"
        body = {"Name": news["name"], "Driver": news.get("driver", ""), "Options": news.get("options") or {},
                "Attachable": bool(news.get("attachable")), "Internal": bool(news.get("internal")),
                "Ingress": bool(news.get("ingress")), "EnableIPv6": bool(news.get("ipv6")),
                "Labels": {label["label"]: label["value"] for label in news.get("labels") or []},
                "IPAM": {"Driver": news.get("ipamDriver", "default"), "Options": news.get("ipamOptions") or {},
                         "Config": [{"Subnet": c.get("subnet", ""), "Gateway": c.get("gateway", ""),
                                     "IPRange": c.get("ipRange", ""),
                                     "AuxiliaryAddresses": c.get("auxAddress") or {}}
                                    for c in news.get("ipamConfigs") or []]}}
        network_id = engine(config, "POST", "/networks/create", body)["Id"]
        time.sleep(2)  # the provider's Read waits 2 s before its one read (N.go:92-99)
        return network_id, self.read(config, network_id)

    def read(self, config: dict, network_id: str) -> dict:
        net = engine(config, "GET", f"/networks/{network_id}")
        ipam = net.get("IPAM") or {}
        return {
            "name": net["Name"], "driver": net["Driver"], "options": net.get("Options") or {},
            "internal": net["Internal"], "attachable": net["Attachable"], "ingress": net["Ingress"],
            "ipv6": net["EnableIPv6"], "ipamDriver": ipam.get("Driver", ""), "ipamOptions": ipam.get("Options") or {},
            "ipamConfigs": [{k: v for k, v in (("subnet", c.get("Subnet")), ("gateway", c.get("Gateway")),
                                              ("ipRange", c.get("IPRange")),
                                              ("auxAddress", c.get("AuxiliaryAddresses"))) if v}
                            for c in ipam.get("Config") or []],
            "labels": [{"label": k, "value": v} for k, v in sorted((net.get("Labels") or {}).items())],
            "scope": net["Scope"],
        }

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        raise AssertionError("docker networks have no update: every field forces a new network")

    def delete(self, old: ResourceState, config: dict) -> None:
        deadline = time.monotonic() + 60  # removal is retried while tasks still hold the network
        while True:
            try:
                engine(config, "DELETE", f"/networks/{old.id}")
                return
            except EngineError as err:
                if time.monotonic() > deadline:
                    raise
                if err.status == 404:
                    raise
                time.sleep(2)


# --- services ----------------------------------------------------------------------------------
UPDATE_CONFIG = Block({"parallelism": Attr(default=1), "delay": Attr(default="0s"),
                       "failureAction": Attr(default="pause"), "monitor": Attr(default="5s"),
                       "maxFailureRatio": Attr(default="0.0"), "order": Attr(default="stop-first")})
SERVICE = Block({
    "name": Attr(force=True),
    "mode": Block({"replicated": Block({"replicas": Attr(default=1)}, computed=True),
                   "global": Attr(default=False)}, force=True, computed=True),
    "taskSpec": Block({
        "containerSpec": Block({"image": Attr(), "args": Attr(), "env": Attr(), "mounts": Attr(set=True, elem=Block({
            "target": Attr(), "source": Attr(), "type": Attr(), "readOnly": Attr(), "bindOptions": Attr(),
            "volumeOptions": Attr(), "tmpfsOptions": Attr()})),
            **{f"{kind}s": Attr(set=True, elem=Block({
                f"{kind}Id": Attr(), f"{kind}Name": Attr(), "fileName": Attr(), "fileUid": Attr(default="0"),
                "fileGid": Attr(default="0"), "fileMode": Attr(default=0o444)})) for kind in ("config", "secret")}}),
        "placement": Block({"constraints": Attr(set=True), "prefs": Attr(set=True),
                            "platforms": Attr(set=True, elem=Block({"architecture": Attr(), "os": Attr()})),
                            "maxReplicas": Attr()}, computed=True),
        "networksAdvanceds": Attr(force=True, set=True, elem=Block({
            "id": Attr(force=True), "aliases": Attr(force=True, set=True), "driverOpts": Attr(force=True, set=True)})),
        "restartPolicy": Block({"condition": Attr(), "delay": Attr(), "window": Attr(), "maxAttempts": Attr()},
                               computed=True),
    }),
    "endpointSpec": Block({"mode": Attr(computed=True), "ports": Attr(elem=Block({
        "name": Attr(), "protocol": Attr(default="tcp"), "targetPort": Attr(),
        "publishedPort": Attr(computed=True), "publishMode": Attr(default="ingress")}))}, computed=True),
    "updateConfig": UPDATE_CONFIG,
    "rollbackConfig": UPDATE_CONFIG,
})
SERVICE_INPUTS = {
    "": {"name", "mode", "taskSpec", "endpointSpec", "updateConfig", "rollbackConfig"},
    "taskSpec": {"containerSpec", "placement", "networksAdvanceds", "restartPolicy"},
    "taskSpec.containerSpec": {"image", "args", "env", "mounts", "configs", "secrets"},
    "taskSpec.placement": {"constraints"},
    "taskSpec.restartPolicy": {"condition", "delay", "window", "maxAttempts"},
    "endpointSpec": {"mode", "ports"},
}
UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def nanoseconds(duration: str) -> int:
    """Go's time.ParseDuration for the forms the program writes ('10s', '1m', '1m30s', '500ms')."""
    parts = re.findall(r"(\d+)(ns|us|µs|ms|s|m|h)", duration)
    if not parts or "".join(a + b for a, b in parts) != duration:
        raise ValueError(f"not a Go duration: {duration!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def short_duration(ns: int) -> str:
    """Go's Duration.String() with a trailing "m0s" and "h0m" cut, as the provider's shortDur."""
    if ns == 0:
        return "0s"
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return f"{ns / size:g}{unit}"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest / 10**9:g}s"
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + seconds
    if text.endswith("m0s"):
        text = text[:-2]
    return text[:-2] if text.endswith("h0m") else text


def _with_tag(image: str) -> str:
    """moby's imageWithTagString: a default `latest` tag when a reference has neither tag nor digest."""
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


def _update_config(cfg: Optional[dict]) -> Optional[dict]:
    if cfg is None:
        return None
    cfg = {k: cfg.get(k, spec.default) for k, spec in UPDATE_CONFIG.fields.items()}
    return {"Parallelism": int(cfg["parallelism"]), "Delay": nanoseconds(cfg["delay"]),
            "FailureAction": cfg["failureAction"], "Monitor": nanoseconds(cfg["monitor"]),
            "MaxFailureRatio": float(cfg["maxFailureRatio"]), "Order": cfg["order"]}


def service_spec(news: dict) -> dict:
    """The Engine API ServiceSpec the provider builds from the inputs (S_structures.go createServiceSpec)."""
    for where, known in SERVICE_INPUTS.items():
        obj = news
        for key in filter(None, where.split(".")):
            obj = obj.get(key) or {}
        unknown = set(obj) - known
        assert not unknown, f"{news['name']}: the docker stand-in's service does not know {where}.{sorted(unknown)}"
    task, mode, endpoint = news["taskSpec"], news.get("mode") or {}, news.get("endpointSpec") or {}
    container, restart = task["containerSpec"], task.get("restartPolicy") or {}
    mounts = container.get("mounts") or []
    assert all(set(m) <= {"target", "source", "type", "readOnly"} for m in mounts), \
        f"{news['name']}: the docker stand-in's service knows mounts without options only"
    return {
        "Name": news["name"],
        "TaskTemplate": {
            "ContainerSpec": {"Image": _with_tag(container["image"]), "Args": container.get("args") or [],
                              "Env": [f"{k}={v}" for k, v in (container.get("env") or {}).items()],
                              **({"Mounts": [{"Type": m["type"], "Source": m.get("source", ""), "Target": m["target"],
                                              "ReadOnly": bool(m.get("readOnly"))} for m in mounts]}
                                 if mounts else {}),
                              **{f"{kind}s": [{f"{kind}ID": f[f"{key}Id"], f"{kind}Name": f.get(f"{key}Name", ""),
                                               "File": {"Name": f["fileName"], "UID": f.get("fileUid", "0"),
                                                        "GID": f.get("fileGid", "0"),
                                                        "Mode": int(f.get("fileMode", 0o444))}}
                                              for f in container[f"{key}s"]]
                                 for kind, key in (("Config", "config"), ("Secret", "secret"))
                                 if container.get(f"{key}s")}},
            "Placement": {"Constraints": (task.get("placement") or {}).get("constraints") or []},
            "Networks": [{"Target": n["id"], "Aliases": n.get("aliases") or []}
                         for n in task.get("networksAdvanceds") or []],
            "RestartPolicy": {"Condition": restart.get("condition", ""),
                              "Delay": nanoseconds(restart.get("delay") or "0s"),
                              "Window": nanoseconds(restart.get("window") or "0s"),
                              "MaxAttempts": int(restart.get("maxAttempts") or 0)},
        },
        "Mode": {"Global": {}} if mode.get("global") else
                {"Replicated": {"Replicas": int((mode.get("replicated") or {}).get("replicas", 1))}},
        "EndpointSpec": {"Mode": endpoint.get("mode") or "vip", "Ports": [
            {"Name": p.get("name", ""), "Protocol": p.get("protocol", "tcp"), "TargetPort": int(p["targetPort"]),
             "PublishedPort": int(p.get("publishedPort") or 0), "PublishMode": p.get("publishMode", "ingress")}
            for p in endpoint.get("ports") or []]},
        **{key: cfg for key, cfg in (("UpdateConfig", _update_config(news.get("updateConfig"))),
                                     ("RollbackConfig", _update_config(news.get("rollbackConfig")))) if cfg},
    }


class Service:
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        return _diff(SERVICE, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        spec = service_spec(news)
        self._query_registry(config, spec)
        service_id = engine(config, "POST", "/services/create", spec)["ID"]
        return service_id, self.read(config, service_id)

    @staticmethod
    def _query_registry(config: dict, spec: dict) -> None:
        """The client's QueryRegistry at create: pin the tag to its digest, record the platforms."""
        container = spec["TaskTemplate"]["ContainerSpec"]
        try:
            found = engine(config, "GET", f"/distribution/{container['Image']}/json")
        except EngineError:
            return  # the image stays as given (a warning only)
        if "@" not in container["Image"]:
            container["Image"] = f"{container['Image']}@{found['Descriptor']['digest']}"
        platforms = [{"Architecture": "" if p.get("architecture", "").lower() == "arm" else p.get("architecture", ""),
                      "OS": p.get("os", "")} for p in found.get("Platforms") or []]
        if platforms:
            spec["TaskTemplate"]["Placement"]["Platforms"] = platforms

    def read(self, config: dict, service_id: str) -> dict:
        """The service as the provider flattens it (S_structures.go flatten*)."""
        time.sleep(2)  # Read's first poll waits 2 s (S_funcs.go:83-167)
        svc = engine(config, "GET", f"/services/{service_id}")
        spec, endpoint = svc["Spec"], svc.get("Endpoint") or {}
        task, mode = spec["TaskTemplate"], spec.get("Mode") or {}
        container, placement = task["ContainerSpec"], task.get("Placement") or {}
        restart = task.get("RestartPolicy") or {}
        ports = (endpoint.get("Spec") or {}).get("Ports") if (endpoint.get("Spec") or {}).get("Mode") else None
        ports = ports if ports is not None else (spec.get("EndpointSpec") or {}).get("Ports") or []

        def update_config(cfg: Optional[dict]) -> Optional[dict]:
            if cfg is None:
                return None
            return {"parallelism": cfg.get("Parallelism", 0), "delay": short_duration(cfg.get("Delay", 0)),
                    "failureAction": cfg.get("FailureAction", ""), "monitor": short_duration(cfg.get("Monitor", 0)),
                    "maxFailureRatio": f"{cfg.get('MaxFailureRatio', 0):.1f}", "order": cfg.get("Order", "")}

        return {
            "name": spec["Name"],
            "mode": ({"global": True} if "Global" in mode else
                     {"replicated": {"replicas": mode.get("Replicated", {}).get("Replicas", 1)}, "global": False}),
            "taskSpec": {
                "containerSpec": {"image": container["Image"],
                                  **({"args": container["Args"]} if container.get("Args") else {}),
                                  "env": dict(e.split("=", 1) for e in container.get("Env") or []),
                                  # flattenServiceMounts (S_structures.go:232-281): options only when Docker has them
                                  "mounts": [{"target": m["Target"], "source": m.get("Source", ""), "type": m["Type"],
                                              "readOnly": m.get("ReadOnly", False)} for m in container.get("Mounts") or []],
                                  **{f"{key}s": [{f"{key}Id": f[f"{kind}ID"], f"{key}Name": f.get(f"{kind}Name", ""),
                                                  "fileName": f["File"]["Name"], "fileUid": f["File"]["UID"],
                                                  "fileGid": f["File"]["GID"], "fileMode": f["File"]["Mode"]}
                                                 for f in container.get(f"{kind}s") or []]
                                     for kind, key in (("Config", "config"), ("Secret", "secret"))}},
                "placement": {"constraints": placement.get("Constraints") or [], "prefs": [],
                              "platforms": [{"architecture": p.get("Architecture", ""), "os": p.get("OS", "")}
                                            for p in placement.get("Platforms") or []],
                              "maxReplicas": placement.get("MaxReplicas", 0)},
                "networksAdvanceds": [{"id": n["Target"], **({"aliases": n["Aliases"]} if n.get("Aliases") else {}),
                                       "driverOpts": []} for n in task.get("Networks") or []],
                "restartPolicy": {"condition": restart.get("Condition") or "any",
                                  "delay": short_duration(restart.get("Delay", 0)),
                                  "window": short_duration(restart.get("Window", 0)),
                                  "maxAttempts": restart.get("MaxAttempts", 0)},
            },
            "endpointSpec": {"mode": (spec.get("EndpointSpec") or {}).get("Mode", "vip"), "ports": [
                {"name": p.get("Name", ""), "protocol": p.get("Protocol", "tcp"), "targetPort": p["TargetPort"],
                 "publishedPort": p.get("PublishedPort", 0), "publishMode": p.get("PublishMode", "ingress")}
                for p in ports]},
            "updateConfig": update_config(spec.get("UpdateConfig")),
            "rollbackConfig": update_config(spec.get("RollbackConfig")),
        }

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        current = engine(config, "GET", f"/services/{old.id}")
        version = current["Version"]["Index"]
        engine(config, "POST", f"/services/{old.id}/update?version={version}", service_spec(news))
        return self.read(config, old.id)

    def delete(self, old: ResourceState, config: dict) -> None:
        engine(config, "DELETE", f"/services/{old.id}")


# --- configs and secrets -------------------------------------------------------------------------
LABELS = Attr(force=True, set=True, elem=Block({"label": Attr(force=True), "value": Attr(force=True)}))
CONFIG = Block({"name": Attr(force=True), "data": Attr(force=True), "dataRaw": Attr(force=True), "labels": LABELS})
SECRET = Block({"name": Attr(force=True), "data": Attr(force=True), "labels": LABELS})


class Stored:
    """A config or a secret (`kind`: configs or secrets): stored as given, every change a replacement."""

    def __init__(self, kind: str, schema: Block):
        self.kind, self.schema = kind, schema

    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        return _diff(self.schema, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        data = news.get("data") or base64.b64encode(news["dataRaw"].encode()).decode()
        labels = {item["label"]: item["value"] for item in news.get("labels") or []}
        found = engine(config, "POST", f"/{self.kind}/create", {"Name": news["name"], "Data": data, "Labels": labels})
        return found["ID"], dict(news)

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        raise AssertionError(f"{self.kind}: every field is ForceNew, so an update is never planned")

    def delete(self, old: ResourceState, config: dict) -> None:
        engine(config, "DELETE", f"/{self.kind}/{old.id}")
