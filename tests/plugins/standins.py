"""What each stand-in plugin does, without gRPC: the imitations of tests/plugins/providers behind the
operations of a ResourceProvider (check, diff, create, read, update, delete, invoke).

Values here are the wire form of a property map as `json_format.MessageToDict` gives it: secrets are
`{<sig>: <secret sig>, "value": ...}` objects (pulumi.runtime.rpc), unknowns the `rpc.UNKNOWN`
string. The imitations see them plain (`plain`): secrets unwrapped, unknowns as `UNKNOWN`
(tests/plugins/providers/state.py), which differs from every value, as their diffs expect.

Modes (`FLINK_SWARM_STANDINS`): `fake` (the default) reaches nothing: clouds give tests/harness.py
FakeCloud's outputs, tls makes real keys with ssh-keygen, random real random strings, docker stores its
inputs (fake.py FakeDocker), command runs nothing and answers FakeCommands' stdout. `hosts` reaches the
test hosts for real: commands over SSH, docker through the Engine the provider names (the control
manager's over SSH, or this machine's for local nodes), clouds as in fake mode. `vms` is `hosts` whose
Azure and Google Cloud VMs are blank test hosts (tests/e2e/hosts.py Vms, through cloud.py FakeClouds'
`addresses` and `hosts`): a static IP gets a lab address, a VM's create starts a host there booting its
user data, its delete removes it. It needs FLINK_SWARM_VM_IMAGE (the blank hosts' image: hosts.py
start_lab()'s "vm") and FLINK_SWARM_VM_KEY (the stack's private key file, as Vms takes it).

Each `pulumi` run starts its plugins anew: what the imitations count in memory (the fake addresses
handed out, the nodes each join made; in `vms` mode also the lab address of each IP, the host at each
address and the cloud resources a VM looks up by id, its NIC and public IP) is kept in
FLINK_SWARM_STANDIN_STATE (a folder) when it is set. Everything else a resource needs comes back from the
engine: old inputs and outputs on every Diff, Update and Delete.
"""
from __future__ import annotations

import base64
import contextlib
import copy
import fcntl
import hashlib
import json
import importlib.metadata
import os
import re
import secrets
import string
import subprocess
import tempfile
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

from pulumi.runtime import rpc

from tests.plugins.providers import Diff, Registry, _parts, changed_paths
from tests.plugins.providers.cloud import FakeClouds
from tests.plugins.providers.command import DEFAULTS as COMMAND_DEFAULTS
from tests.plugins.providers.command import LocalCommand, RemoteCommand
from tests.plugins.providers.docker import (CONFIG, NETWORK, SECRET, SERVICE, Attr, Block, DockerProvider, Network,
                                           Service, Stored)
from tests.plugins.providers.docker_local import CONTAINER, REMOTE_IMAGE, Container, RemoteImage
from tests.plugins.providers.fake import FakeCommands, FakeDocker
from tests.plugins.providers.state import UNKNOWN, Goal, ResourceState, Unknown, holds

# The program's resource types that no cloud prefix covers.
COMMAND, LOCAL_COMMAND, DOCKER = "command:remote:Command", "command:local:Command", "pulumi:providers:docker"
NETWORK_TYPE, SERVICE_TYPE = "docker:index/network:Network", "docker:index/service:Service"
CONTAINER_TYPE, IMAGE_TYPE = "docker:index/container:Container", "docker:index/remoteImage:RemoteImage"
CONFIG_TYPE, SECRET_TYPE = "docker:index/serviceConfig:ServiceConfig", "docker:index/secret:Secret"

# The plugin name (pulumi-resource-<name>) -> the Python SDK package whose version it reports.
SDK_PACKAGES = {"azure-native": "pulumi_azure_native", "gcp": "pulumi_gcp", "tls": "pulumi_tls",
                "random": "pulumi_random", "docker": "pulumi_docker", "command": "pulumi_command"}

# Outputs the real providers' schemas mark secret; the generated SDKs list the same ones as
# additional_secret_outputs (venv site-packages: pulumi_tls/private_key.py:395,
# pulumi_random/random_password.py:612, pulumi_gcp/serviceaccount/key.py:632,
# pulumi_command/remote/command.py:453).
SECRET_OUTPUTS: dict[str, tuple[str, ...]] = {
    "tls:index/privateKey:PrivateKey": ("privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"),
    "random:index/randomPassword:RandomPassword": ("bcryptHash", "result"),
    "gcp:serviceaccount/key:Key": ("privateKey",),
    COMMAND: ("connection",),
    SECRET_TYPE: ("data",),  # pulumi_docker/secret.py:242
}

# Outputs a create computes (tests/harness.py FakeCloud.outputs and the ids cloud.py adds): unknown in a
# preview's create, as a real provider answers a preview (CreateRequest.preview, provider.proto:833).
COMPUTED: dict[str, tuple[str, ...]] = {
    "azure-native:resources:ResourceGroup": ("name",),
    "azure-native:network:VirtualNetwork": ("name",),
    "azure-native:network:PublicIPAddress": ("ipAddress",),
    "azure-native:network:NetworkInterface": ("ipConfigurations",),
    "azure-native:compute:VirtualMachine": ("vmId",),
    "azure-native:storage:StorageAccount": ("name",),
    "gcp:compute/address:Address": ("address", "selfLink"),
    "gcp:compute/instance:Instance": ("networkInterfaces", "instanceId"),
    "gcp:compute/network:Network": ("selfLink",),
    "gcp:serviceaccount/account:Account": ("email", "name"),
    "gcp:serviceaccount/key:Key": ("privateKey",),
    "tls:index/privateKey:PrivateKey": ("privateKeyOpenssh", "publicKeyOpenssh", "privateKeyPem", "publicKeyPem",
                                        "publicKeyFingerprintSha256", "rsaBits", "ecdsaCurve"),
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
    "random:index/randomString:RandomString": ("result",),
    IMAGE_TYPE: ("imageId",),
    COMMAND: ("stdout", "stderr"),
}

# Schema defaults the real providers' Check writes into the inputs. pulumi-command v1.2.1: the
# connection's defaults (tests/plugins/providers/command.py DEFAULTS, connection.go:57-78), applied by
# pulumi-go-provider's Check. The docker bridge: the Terraform schema's Defaults, in present blocks
# (the Attr defaults of docker.py and docker_local.py).
DOCKER_SCHEMAS = {NETWORK_TYPE: NETWORK, SERVICE_TYPE: SERVICE, CONTAINER_TYPE: CONTAINER, IMAGE_TYPE: REMOTE_IMAGE,
                  CONFIG_TYPE: CONFIG, SECRET_TYPE: SECRET}

# terraform-provider-random v3.9.0 string/password: the default special characters.
RANDOM_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def mode() -> str:
    return os.environ.get("FLINK_SWARM_STANDINS", "fake")


def sdk_version(package: str) -> str:
    """The installed Python SDK's version: what the program asks the engine for."""
    return importlib.metadata.version(SDK_PACKAGES[package])


# --- values ------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A wire value as the imitations see it: secrets unwrapped, unknowns UNKNOWN."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def wire(value: Any) -> Any:
    """An imitation's value back on the wire: UNKNOWN as the unknown sentinel."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    return value


def _secret(value: Any) -> Any:
    return rpc.wrap_rpc_secret(value)


def with_secrets(typ: str, outputs: dict, inputs: dict) -> dict:
    """Outputs marked secret where the schema says so, and where the input of that name held a secret
    anywhere inside (a GCP VM's `metadata` with a secret `user-data`): the imitations see inputs plain,
    and what they return must not lose the secretness the engine sent."""
    keys = set(SECRET_OUTPUTS.get(typ, ())) | {k for k, v in inputs.items() if holds(v, rpc.is_rpc_secret)}
    return {k: _secret(v) if k in keys and v != rpc.UNKNOWN and not rpc.is_rpc_secret(v) else v
            for k, v in outputs.items()}


def _lookup(value: Any, path: str) -> tuple[bool, Any]:
    for part in _parts(path):
        value = rpc.unwrap_rpc_secret(value)
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


# --- defaults ----------------------------------------------------------------------------------
def _schema_defaults(schema: Block, value: dict) -> dict:
    out = dict(value)
    for key, spec in schema.fields.items():
        if isinstance(spec, Attr):
            if key not in out and spec.default is not None and not spec.computed:
                out[key] = spec.default
            elif spec.elem is not None and isinstance(out.get(key), list):
                out[key] = [_schema_defaults(spec.elem, e) if isinstance(e, dict) else e for e in out[key]]
        elif isinstance(spec, Block) and isinstance(out.get(key), dict):
            out[key] = _schema_defaults(spec, out[key])
    return out


def _keep_secret(value: Any, change) -> Any:
    """`change` applied under a secret wrapper, which stays."""
    if rpc.is_rpc_secret(value):
        return _secret(change(rpc.unwrap_rpc_secret(value)))
    return change(value)


def check_defaults(typ: str, news: dict) -> dict:
    news = copy.deepcopy(news)
    if typ == COMMAND and isinstance(plain(news.get("connection")), dict):
        news["connection"] = _keep_secret(news["connection"], lambda c: {**COMMAND_DEFAULTS, **c})
    if typ in DOCKER_SCHEMAS:
        news = _schema_defaults(DOCKER_SCHEMAS[typ], news)
    return news


# --- the providers -----------------------------------------------------------------------------
class Counters:
    """Counters the imitations keep in memory, kept across plugin processes (each `pulumi` run starts
    its plugins anew, and a package may run in several processes at once): a JSON file in the folder
    FLINK_SWARM_STANDIN_STATE, under a file lock. Without the variable they live as long as the process."""

    def __init__(self, name: str):
        folder = os.environ.get("FLINK_SWARM_STANDIN_STATE")
        self.path = Path(folder, f"{name}.json") if folder else None
        self.memory: dict = {}
        self.lock = threading.Lock()  # the process's threads (one gRPC call each)

    @contextlib.contextmanager
    def hold(self):
        """The counters, saved again when the block ends."""
        if self.path is None:
            with self.lock:
                yield self.memory
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            values = json.loads(self.path.read_text()) if self.path.exists() else {}
            yield values
            self.path.write_text(json.dumps(values))


class Kept(MutableMapping):
    """A dict kept in Counters(name): each read and write goes to its file, so every process sees the
    others' changes."""

    def __init__(self, name: str):
        self.counters = Counters(name)

    def __getitem__(self, key: str) -> Any:
        with self.counters.hold() as values:
            return values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        with self.counters.hold() as values:
            values[key] = value

    def __delitem__(self, key: str) -> None:
        with self.counters.hold() as values:
            del values[key]

    def __iter__(self):
        with self.counters.hold() as values:
            return iter(list(values))

    def __len__(self) -> int:
        with self.counters.hold() as values:
            return len(values)


class StandinClouds(FakeClouds):
    """FakeClouds with real tls keys (cloud.py real_key, ssh-keygen) and real random results; the fake
    addresses FakeCloud hands out are kept across processes (Counters), so a name created again (a
    replacement) gets a new one. With `vms`, VMs are those test hosts at their IPs' addresses, and what a
    VM looks up by id is Kept. A create holds the counters' lock throughout, one address at a time."""

    def __init__(self, vms=None) -> None:
        super().__init__(vms.address if vms else None, vms, real_keys=True)
        self.counters = Counters("cloud-addresses")
        if vms:
            self.by_id = Kept("cloud-ids")

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        with self.counters.hold() as given:
            self.fake = type(self.fake)(given)
            resource_id, outputs = super().create(goal, news, config)
        if goal.type == "tls:index/privateKey:PrivateKey":
            outputs.update(tls_extras(news, outputs))
        if goal.type in ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"):
            outputs.update(random_result(news))
            resource_id = "none"  # terraform-provider-random: a password's and a string's id is "none"
        return resource_id, outputs


def tls_extras(news: dict, outputs: dict) -> dict:
    """The tls PrivateKey's other outputs: its defaults (rsa_bits 2048, ecdsa_curve P224; terraform-provider-tls
    v4.2.1 resource_private_key.go:57-84), the public key's SHA256 fingerprint, and for RSA the PEM forms."""
    extra: dict = {"rsaBits": news.get("rsaBits", 2048), "ecdsaCurve": news.get("ecdsaCurve", "P224")}
    blob = base64.b64decode(outputs["publicKeyOpenssh"].split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    extra["publicKeyFingerprintSha256"] = f"SHA256:{digest}"
    if news.get("algorithm", "RSA") == "RSA":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "key")
            path.write_text(outputs["privateKeyOpenssh"])
            path.chmod(0o600)
            done = subprocess.run(["ssh-keygen", "-q", "-p", "-N", "", "-m", "PEM", "-f", str(path)],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                extra["privateKeyPem"] = path.read_text()
            public = subprocess.run(["ssh-keygen", "-e", "-m", "PKCS8", "-f", str(path)], capture_output=True,
                                    text=True)
            if public.returncode == 0:
                extra["publicKeyPem"] = public.stdout
    return extra


def random_result(news: dict) -> dict:
    """A real random result with the inputs' character classes (terraform-provider-random defaults:
    upper, lower, numeric and special on; min_* 0)."""
    length = int(news["length"])
    classes = []
    for key, chars in (("upper", string.ascii_uppercase), ("lower", string.ascii_lowercase),
                       ("numeric", string.digits)):
        enabled = news.get(key, True) and (key != "numeric" or news.get("number", True))
        if enabled:
            classes.append((key, chars))
    if news.get("special", True):
        classes.append(("special", news.get("overrideSpecial") or RANDOM_SPECIAL))
    alphabet = "".join(chars for _, chars in classes)
    minimum = {"upper": "minUpper", "lower": "minLower", "numeric": "minNumeric", "special": "minSpecial"}
    picked = [secrets.choice(chars) for key, chars in classes for _ in range(int(news.get(minimum[key], 0)))]
    picked += [secrets.choice(alphabet) for _ in range(length - len(picked))]
    secrets.SystemRandom().shuffle(picked)
    result = "".join(picked)
    defaults = {"upper": True, "lower": True, "numeric": True, "number": True, "special": True,
                "minUpper": 0, "minLower": 0, "minNumeric": 0, "minSpecial": 0}
    return {**defaults, **news, "result": result}


class StandinCommands(FakeCommands):
    """FakeCommands whose count of the nodes each join or init made outlives the process: kept in Counters
    for creates, and read back from the previous stdout (`nodeid-...-N`) for updates and deletes."""

    def __init__(self) -> None:
        super().__init__()
        self.counters = Counters("command-nodes")

    def _seed(self, old: ResourceState) -> None:
        found = re.search(r"-(\d+)$", str(old.outputs_plain().get("stdout", "")))
        if found and old.name.endswith(("-join", "-swarm-init")):
            with self._lock:
                self.nodes.setdefault(old.name, int(found.group(1)))

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]:
        with self.counters.hold() as nodes:
            with self._lock:
                self.nodes.update({k: max(v, self.nodes.get(k, 0)) for k, v in nodes.items()})
            result = super().create(goal, news, config)
            with self._lock:
                nodes.update(self.nodes)
        return result

    def update(self, old: ResourceState, news: dict, config: dict) -> dict:
        self._seed(old)
        return super().update(old, news, config)

    def delete(self, old: ResourceState, config: dict) -> None:
        self._seed(old)
        super().delete(old, config)


def fake_registry() -> Registry:
    """Every type of the program, reaching nothing: commands record what would run (fake.py), docker
    stores its inputs, clouds hand out fake addresses (StandinClouds)."""
    clouds = StandinClouds()
    docker = {DOCKER: FakeDocker(), NETWORK_TYPE: FakeDocker(NETWORK), SERVICE_TYPE: FakeDocker(SERVICE),
              CONTAINER_TYPE: FakeDocker(CONTAINER), IMAGE_TYPE: FakeDocker(REMOTE_IMAGE),
              CONFIG_TYPE: FakeDocker(CONFIG), SECRET_TYPE: FakeDocker(SECRET)}
    commands = StandinCommands()
    return Registry({COMMAND: commands, LOCAL_COMMAND: commands, **docker, "azure-native:": clouds, "gcp:": clouds,
                     "tls:": clouds, "random:": clouds})


def hosts_registry(clouds: Optional[StandinClouds] = None) -> Registry:
    """Commands over real SSH (command.py RemoteCommand), Docker through the Engine the provider names
    (the manager's, over SSH, or this machine's: docker.py, docker_local.py), local commands on this
    machine, clouds as in fake mode (or `clouds`)."""
    clouds = clouds or StandinClouds()
    docker = {DOCKER: DockerProvider(), NETWORK_TYPE: Network(), SERVICE_TYPE: Service(),
              CONTAINER_TYPE: Container(), IMAGE_TYPE: RemoteImage(), CONFIG_TYPE: Stored("configs", CONFIG),
              SECRET_TYPE: Stored("secrets", SECRET)}
    return Registry({COMMAND: RemoteCommand(), LOCAL_COMMAND: LocalCommand(), **docker, "azure-native:": clouds,
                     "gcp:": clouds, "tls:": clouds, "random:": clouds})


def vms_registry() -> Registry:
    """hosts_registry with VMs on blank test hosts (hosts.py Vms), what they keep Kept."""
    from tests.e2e.hosts import Vms

    vms = Vms(os.environ["FLINK_SWARM_VM_IMAGE"], Path(os.environ["FLINK_SWARM_VM_KEY"]), kept=Kept)
    return hosts_registry(StandinClouds(vms))


def registry_for(selected: str) -> Registry:
    registries = {"fake": fake_registry, "hosts": hosts_registry, "vms": vms_registry}
    if selected not in registries:
        raise NotImplementedError(f"FLINK_SWARM_STANDINS={selected!r}: one of {', '.join(registries)}")
    return registries[selected]()


@dataclass
class DiffResult:
    diff: Diff
    news: dict
    olds: dict

    def kind(self, path: str) -> str:
        """ADD, DELETE or UPDATE (provider.proto:724-751), from where the path exists."""
        in_old, _ = _lookup(self.olds, path)
        in_new, _ = _lookup(self.news, path)
        return "ADD" if not in_old else "DELETE" if not in_new else "UPDATE"


class Standin:
    """One plugin process: a package's imitations, and the config its provider resource was given."""

    def __init__(self, package: str, selected: Optional[str] = None):
        self.package = package
        self.mode = selected or mode()
        self.registry = registry_for(self.mode)
        self.config: dict = {}  # the provider resource's inputs (Configure), plain

    def version(self) -> str:
        return sdk_version(self.package)

    def configure(self, args: dict) -> None:
        self.config = plain(args)

    def _provider(self, typ: str):
        return self.registry.get(typ)

    @staticmethod
    def _state(urn: str, typ: str, name: str, resource_id: str, inputs: dict, outputs: dict) -> ResourceState:
        goal = Goal(urn, typ, name, plain(inputs))
        return ResourceState(goal, resource_id, plain(outputs))

    # --- operations ------------------------------------------------------------------------
    def check(self, typ: str, olds: dict, news: dict) -> dict:
        return check_defaults(typ, news)

    def diff(self, urn: str, typ: str, name: str, resource_id: str, old_inputs: dict, olds: dict, news: dict,
             ignore: list[str]) -> DiffResult:
        old = self._state(urn, typ, name, resource_id, old_inputs or olds, olds)
        found = self._provider(typ).diff(old, plain(news), self.config, tuple(ignore))
        return DiffResult(found, news, old_inputs or olds)

    def diff_config(self, typ: str, old_inputs: dict, olds: dict, news: dict) -> DiffResult:
        """A provider's own inputs changed: pulumi-docker updates a provider in place (docker.py
        DockerProvider.diff); the others are taken to do the same."""
        before, after = plain(old_inputs or olds), plain(news)
        paths = [p for p in changed_paths(before, after) if p != "version"]
        return DiffResult(Diff(bool(paths), (), tuple(paths)), news, old_inputs or olds)

    def create(self, urn: str, typ: str, name: str, news: dict, preview: bool) -> tuple[str, dict]:
        if preview:
            outputs = {**news, **{k: rpc.UNKNOWN for k in COMPUTED.get(typ, ())}}
            return "", with_secrets(typ, outputs, news)
        goal = Goal(urn, typ, name, plain(news))
        resource_id, outputs = self._provider(typ).create(goal, plain(news), self.config)
        return resource_id, with_secrets(typ, wire(outputs), news)

    def update(self, urn: str, typ: str, name: str, resource_id: str, old_inputs: dict, olds: dict, news: dict,
               preview: bool) -> dict:
        if preview:
            outputs = {**olds, **news}
            if typ == COMMAND and (plain(news).get("update") or plain(news).get("create")):
                outputs.update(stdout=rpc.UNKNOWN, stderr=rpc.UNKNOWN)  # it will run again
            return with_secrets(typ, outputs, news)
        old = self._state(urn, typ, name, resource_id, old_inputs or olds, olds)
        outputs = self._provider(typ).update(old, plain(news), self.config)
        return with_secrets(typ, wire(outputs), news)

    def read(self, typ: str, resource_id: str, properties: dict, inputs: dict) -> tuple[str, dict, dict]:
        """Refresh: a docker network, service or container as Docker has it now, read back as the provider
        reads it after a create (docker.py, docker_local.py `read`); nothing else drifts here (fake mode
        reaches nothing, and the clouds and commands have nothing to read)."""
        provider = self._provider(typ)
        if typ not in (NETWORK_TYPE, SERVICE_TYPE, CONTAINER_TYPE) or not hasattr(provider, "read"):
            return resource_id, properties, inputs
        stored = plain(properties)
        now = (provider.read(self.config, resource_id, stored) if typ == CONTAINER_TYPE
               else provider.read(self.config, resource_id))
        return resource_id, with_secrets(typ, wire({**stored, **now}), inputs), inputs

    def delete(self, urn: str, typ: str, name: str, resource_id: str, old_inputs: dict, properties: dict) -> None:
        old = self._state(urn, typ, name, resource_id, old_inputs or properties, properties)
        self._provider(typ).delete(old, self.config)

    def sent_env(self, name: str) -> list[tuple[str, str, str]]:
        """What pulumi-command would have set as SSH environment for `name` (FakeCommands.env_sent), taken."""
        commands = self.registry.providers.get(COMMAND)
        if not isinstance(commands, FakeCommands):
            return []
        with commands._lock:
            mine = [sent for sent in commands.env_sent if sent[0] == name]
            commands.env_sent = [sent for sent in commands.env_sent if sent[0] != name]
        return mine

    def invoke(self, token: str, args: dict) -> dict:
        """The functions the program calls: azure-native storage listStorageAccountKeys (components/state.py),
        answered as the unit tests' mocks answer it (tests/harness.py _Mocks.call), the keys secret."""
        from tests.harness import _Mocks

        result = _Mocks().call(SimpleNamespace(token=token, args=plain(args), provider=None))
        if not result:
            raise KeyError(f"the {self.package} stand-in has no function {token}")
        if token == "azure-native:storage:listStorageAccountKeys":
            result = {**result, "keys": _secret(result["keys"])}
        return result
