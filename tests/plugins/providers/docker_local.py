"""pulumi-docker 5.2's container and image (kreuzwerker/terraform-provider-docker v4.5.0) on
this machine's Docker Engine: the program's `cloud: local` nodes, made for real.

As in docker.py, what a resource stores is what the real provider stores, and the next diff follows
the Terraform schema. Sources, kreuzwerker v4.5.0 internal/provider/ (C = resource_docker_container.go,
CF = resource_docker_container_funcs.go, I = resource_docker_image*.go):

- container: every input ForceNew but restart and must_run (C.go:50-1181); `ports` a list whose
  DiffSuppressFunc matches entries by `internal`, `external` Optional+Computed, `ip` default 0.0.0.0,
  `protocol` tcp (C.go:487-534, 1192-1247); security_opts, labels, envs, hostname Computed. Create
  (CF.go:43-674): create on the default bridge, disconnect it, connect each networks_advanced with its
  address, copy each upload in (a tar at "/", 0644, 0744 if executable) before the start, start, Read.
  `systempaths=unconfined` is dropped from SecurityOpt at create (masked and read-only paths emptied
  instead, CF.go:327-332, 691-703). Read (CF.go:750-981) stores ports (only while running or
  must_run), hostname, restart, security_opts and capabilities as Docker has them, the image's id when
  the input is an id, must_run false when stopped; networks_advanced, uploads, volumes and labels are
  not read back. Update (CF.go:991-1077): restart through ContainerUpdate, must_run false -> true
  starts it. Delete (CF.go:1079-1131): stop with destroy_grace_seconds (0), remove with force and
  its anonymous volumes (remove_volumes, default true). device_cgroup_rules is newer than v4.5.0
  (no source found): taken as ForceNew and read back from HostConfig.DeviceCgroupRules, the strict reading.
- image (RemoteImage, the bridged docker_image): name, triggers and every build field ForceNew, the
  context's files not hashed (I.go:36-96, 285-459); Create builds and stores the image's id; Delete
  removes the image by name unless keep_locally (I_funcs.go:34-220).
"""
from __future__ import annotations

import base64
import io
import json
import tarfile
import time
import urllib.parse

from tests.harness import ROOT

from .state import Goal, ResourceState
from . import Diff
from .docker import Attr, Block, EngineError, _diff, local_engine

CONTAINER = Block({
    "name": Attr(force=True), "image": Attr(force=True), "hostname": Attr(force=True, computed=True),
    "networksAdvanced": Attr(force=True, set=True, elem=Block({
        "name": Attr(force=True), "ipv4Address": Attr(force=True), "ipv6Address": Attr(force=True),
        "aliases": Attr(force=True, set=True)})),
    "ports": Attr(force=True, keyed="internal", elem=Block({
        "internal": Attr(force=True), "external": Attr(force=True, computed=True),
        "ip": Attr(force=True, default="0.0.0.0"), "protocol": Attr(force=True, default="tcp")})),
    "volumes": Attr(force=True, set=True, elem=Block({
        k: Attr(force=True) for k in ("volumeName", "containerPath", "hostPath", "readOnly", "fromContainer")})),
    "capabilities": Block({"adds": Attr(force=True, set=True), "drops": Attr(force=True, set=True)}, force=True),
    "securityOpts": Attr(force=True, computed=True, set=True),
    "deviceCgroupRules": Attr(force=True, set=True),
    "restart": Attr(default="no"), "mustRun": Attr(default=True),
    "uploads": Attr(force=True, set=True, elem=Block({
        k: Attr(force=True) for k in ("file", "content", "contentBase64", "executable", "permissions")})),
    "labels": Attr(force=True, computed=True, set=True,
                   elem=Block({"label": Attr(force=True), "value": Attr(force=True)})),
})
REMOTE_IMAGE = Block({
    "name": Attr(force=True), "triggers": Attr(force=True), "keepLocally": Attr(), "forceRemove": Attr(),
    "build": Block({"context": Attr(force=True), "dockerfile": Attr(force=True, default="Dockerfile"),
                    "buildArgs": Attr(force=True), "labels": Attr(force=True)}),
})


def _known(schema: Block, news: dict, what: str) -> None:
    unknown = set(news) - set(schema.fields)
    assert not unknown, f"{what}: the docker stand-in's resource does not know {sorted(unknown)}"


class Container:
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        return _diff(CONTAINER, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        _known(CONTAINER, news, goal.name)
        host = config.get("host")
        image = news["image"]
        local_engine(host, "GET", f"/images/{image}/json")  # findImage: it pulls only what is missing
        ports = news.get("ports") or []
        opts = news.get("securityOpts") or []
        unconfined = "systempaths=unconfined" in opts
        body = {
            "Image": image, "Hostname": news.get("hostname", ""),
            "Labels": {x["label"]: x["value"] for x in news.get("labels") or []},
            "Volumes": {v["containerPath"]: {} for v in news.get("volumes") or [] if not v.get("volumeName")},
            "ExposedPorts": {f"{int(p['internal'])}/{p.get('protocol', 'tcp')}": {} for p in ports},
            "HostConfig": {
                "NetworkMode": "bridge",
                "PortBindings": {f"{int(p['internal'])}/{p.get('protocol', 'tcp')}": [
                    {"HostIp": p.get("ip", "0.0.0.0"),
                     "HostPort": str(int(p["external"])) if p.get("external") else ""}]
                    for p in ports},
                "Binds": [f"{v['volumeName']}:{v['containerPath']}{':ro' if v.get('readOnly') else ''}"
                          for v in news.get("volumes") or [] if v.get("volumeName")],
                "CapAdd": (news.get("capabilities") or {}).get("adds") or [],
                "CapDrop": (news.get("capabilities") or {}).get("drops") or [],
                "SecurityOpt": [o for o in opts if o != "systempaths=unconfined"],
                **({"MaskedPaths": [], "ReadonlyPaths": []} if unconfined else {}),
                "DeviceCgroupRules": news.get("deviceCgroupRules") or [],
                "RestartPolicy": {"Name": news.get("restart", "no")},
            },
        }
        container_id = local_engine(host, "POST", f"/containers/create?name={urllib.parse.quote(news['name'])}",
                                    body)["Id"]
        networks = news.get("networksAdvanced") or []
        if networks:
            local_engine(host, "POST", "/networks/bridge/disconnect", {"Container": container_id, "Force": True})
        for net in networks:
            local_engine(host, "POST", f"/networks/{net['name']}/connect", {
                "Container": container_id, "EndpointConfig": {
                    "Aliases": net.get("aliases") or [], "IPAMConfig": {"IPv4Address": net.get("ipv4Address", "")}}})
        for upload in news.get("uploads") or []:
            local_engine(host, "PUT", f"/containers/{container_id}/archive?path=/", raw=_tar(upload),
                         content_type="application/x-tar")
        local_engine(host, "POST", f"/containers/{container_id}/start")
        return container_id, self.read(config, container_id, news)

    def read(self, config: dict, container_id: str, stored: dict) -> dict:
        found = local_engine(config.get("host"), "GET", f"/containers/{container_id}/json")
        host_config, running = found["HostConfig"], found["State"]["Running"]
        out = {key: stored[key] for key in ("networksAdvanced", "uploads", "volumes", "labels") if key in stored}
        out.update({
            "name": found["Name"].lstrip("/"),
            "image": found["Image"] if stored["image"].startswith("sha256:") else found["Config"]["Image"],
            "hostname": found["Config"]["Hostname"], "restart": host_config["RestartPolicy"]["Name"],
            "mustRun": stored.get("mustRun", True) if running else False,
            "securityOpts": host_config.get("SecurityOpt") or [],
            "deviceCgroupRules": host_config.get("DeviceCgroupRules") or [],
        })
        if host_config.get("CapAdd") or host_config.get("CapDrop"):
            out["capabilities"] = {"adds": host_config.get("CapAdd") or [], "drops": host_config.get("CapDrop") or []}
        if stored.get("ports") and (running or stored.get("mustRun", True)):
            bound = (found["NetworkSettings"].get("Ports") or {}) if running else {}
            out["ports"] = [{"internal": int(key.split("/")[0]), "external": int(b["HostPort"]), "ip": b["HostIp"],
                             "protocol": key.split("/")[1]}
                            for key, bindings in sorted(bound.items()) for b in bindings or []]
        return out

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        host, stored = config.get("host"), old.outputs_plain()
        if news.get("restart", "no") != stored.get("restart"):
            local_engine(host, "POST", f"/containers/{old.id}/update",
                         {"RestartPolicy": {"Name": news.get("restart", "no")}})
        if news.get("mustRun", True) and not stored.get("mustRun", True):
            local_engine(host, "POST", f"/containers/{old.id}/start")
        return self.read(config, old.id, {**stored, **news})

    def delete(self, old: ResourceState, config: dict) -> None:
        host = config.get("host")
        try:
            local_engine(host, "POST", f"/containers/{old.id}/stop?t=0")
        except EngineError as err:
            if err.status != 304:  # already stopped
                raise
        local_engine(host, "DELETE", f"/containers/{old.id}?force=1&v=1")


def _tar(upload: dict) -> bytes:
    """One upload as the provider sends it: a tar holding the file at its path, its mode as asked."""
    content = (base64.b64decode(upload["contentBase64"]) if upload.get("contentBase64")
               else upload.get("content", "").encode())
    mode = (int(upload["permissions"], 8) if upload.get("permissions")
            else 0o744 if upload.get("executable") else 0o644)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(upload["file"].lstrip("/"))
        info.size, info.mode, info.mtime = len(content), mode, int(time.time())
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class RemoteImage:
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff:
        return _diff(REMOTE_IMAGE, news, old.outputs_plain(), list(ignore))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        _known(REMOTE_IMAGE, news, goal.name)
        build = news["build"]
        # The provider runs in the program's directory, where a relative context is resolved.
        context = ROOT / build["context"]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(str(context), arcname=".")
        query = urllib.parse.urlencode({"t": news["name"], "dockerfile": build.get("dockerfile", "Dockerfile"),
                                        "buildargs": json.dumps(build.get("buildArgs") or {}),
                                        "labels": json.dumps(build.get("labels") or {}), "rm": "1"})
        log = local_engine(config.get("host"), "POST", f"/build?{query}", raw=buffer.getvalue(),
                           content_type="application/x-tar")
        errors = [json.loads(line)["error"] for line in log.splitlines() if line.strip() and '"error"' in line]
        assert not errors, f"{goal.name}: the image build failed: {errors[-1]}"
        found = local_engine(config.get("host"), "GET", f"/images/{urllib.parse.quote(news['name'])}/json")
        return found["Id"], {**news, "imageId": found["Id"], "repoDigest": ""}

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        return {**old.outputs_plain(), **news}  # keep_locally and force_remove only: nothing is rebuilt

    def delete(self, old: ResourceState, config: dict) -> None:
        stored = old.outputs_plain()
        if not stored.get("keepLocally"):
            force = "1" if stored.get("forceRemove") else "0"
            local_engine(config.get("host"), "DELETE", f"/images/{urllib.parse.quote(stored['name'])}?force={force}")
