"""Run the real program (`__main__.py`) under Pulumi's mocks and capture the resource graph.

Used by the unit tests, the policy tests, the CLI tests (what the program registers) and the
benchmark. Each run starts from a fresh Pulumi runtime state; every
private call into the Pulumi SDK is in `_fresh_runtime` and `_resolve`.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import runpy
import shlex
import shutil
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import pulumi
import yaml
from pulumi.runtime import rpc, settings as rt_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.sshkey import KEY_DIR_ENV
from tests.config_helpers import OWN_KEY

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "flink-swarm"
AZURE_VM, GCP_VM = "azure-native:compute:VirtualMachine", "gcp:compute/instance:Instance"

# The smallest config the default topology needs: tests and the benchmark start from it.
BASE_CONFIG = {
    "azure-native:location": "westeurope",
    "gcp:project": "test-project",
    "gcp:zone": "europe-west1-b",
    "flink-swarm:adminCidrs": ["203.0.113.7/32"],
}



def unwrap(value: Any) -> Any:
    """Inputs with secret markers removed (for reading values)."""
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def as_from_a_terminal() -> None:
    """A child's preexec_fn: SIGINT as a terminal's shell leaves it (a shell running the tests in the
    background, `cmd &`, starts them with SIGINT ignored, which Python then keeps), so that a test's
    Ctrl-C (SIGINT) reaches the command as a user's would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


@dataclass
class Res:
    """One registered resource: type token, logical name, inputs (camelCase) and dependencies."""

    type: str
    name: str
    urn: str
    parent: str
    raw: dict  # inputs as sent, secrets still wrapped
    deps: set[str] = field(default_factory=set)  # URNs this resource depends on
    provider: str = ""  # "<provider urn>::<id>" when an explicit provider is used
    retain_on_delete: bool = False  # `pulumi destroy` leaves it in the cloud
    ignore_changes: tuple[str, ...] = ()  # input paths the engine keeps at their old value
    delete_before_replace: Optional[bool] = None  # the option as the program gave it (None: unset)

    @property
    def inputs(self) -> dict:
        return unwrap(self.raw)

    @property
    def diffed_inputs(self) -> dict:
        """The inputs the engine diffs: ignored paths (dotted, as `ignoreChanges` names them) left out."""
        inputs = self.inputs
        for path in self.ignore_changes:
            *parents, last = path.split(".")
            value = inputs
            for key in parents:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, dict):
                value.pop(last, None)
        return inputs


class FakeCloud:
    """Default outputs: distinct public/private IPs, ids, keys, command stdout.

    An address follows from the resource's name and how many addresses that name was given before
    (`given`), never from the order the program registers in: that order is the SDK's scheduling, and
    two runs of one program must see the same addresses. Two names on one address fail at once."""

    def __init__(self, given: Optional[dict[str, list[str]]] = None) -> None:
        self.given = {} if given is None else given  # name -> the addresses it was given, in order

    def address(self, network: str, name: str) -> str:
        hosts = ipaddress.ip_network(network)
        seed = hashlib.sha256(f"{name}#{len(self.given.get(name, []))}".encode()).hexdigest()
        address = str(hosts[1 + int(seed, 16) % (hosts.num_addresses - 2)])
        owner = next((other for other, addresses in self.given.items() if address in addresses), name)
        assert owner == name, f"the fake addresses of {name} and {owner} are both {address}: change the seed"
        self.given.setdefault(name, []).append(address)
        return address

    def outputs(self, typ: str, name: str, inputs: dict) -> dict:
        if typ == "azure-native:resources:ResourceGroup":
            return {"name": inputs["resourceGroupName"]}
        if typ == "azure-native:network:VirtualNetwork":
            return {"name": inputs["virtualNetworkName"]}
        if typ == "azure-native:network:PublicIPAddress":
            return {"ipAddress": self.address("198.18.0.0/16", name)}
        if typ == "gcp:compute/address:Address":
            return {"address": self.address("198.18.0.0/16", name), "selfLink": f"addresses/{name}"}
        if typ == "azure-native:network:NetworkInterface":
            configs = [dict(c, privateIPAddress=self.address("10.10.0.0/20", f"{name}/{i}"))
                       for i, c in enumerate(inputs["ipConfigurations"])]
            return {"ipConfigurations": configs}
        if typ == GCP_VM:
            nics = [dict(n, networkIp=self.address("10.20.0.0/20", f"{name}/{i}"))
                    for i, n in enumerate(inputs["networkInterfaces"])]
            instance_id = str(int(hashlib.sha256(name.encode()).hexdigest()[:15], 16))
            return {"networkInterfaces": nics, "instanceId": instance_id}
        if typ == AZURE_VM:
            return {"vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}
        if typ == "gcp:compute/network:Network":
            return {"selfLink": f"projects/p/global/networks/{inputs.get('name')}"}
        if typ == "tls:index/privateKey:PrivateKey":
            kind = "ed25519" if inputs.get("algorithm") == "ED25519" else "rsa"
            return {"publicKeyOpenssh": f"ssh-{kind} AAAAmock{kind}{name}\n",
                    "privateKeyOpenssh": f"-----BEGIN OPENSSH PRIVATE KEY-----\nmock {name}\n"
                                         "-----END OPENSSH PRIVATE KEY-----\n"}
        if typ == "random:index/randomPassword:RandomPassword":
            return {"result": "mock-" + hashlib.sha256(name.encode()).hexdigest()[:24]}
        if typ == "random:index/randomString:RandomString":
            return {"result": hashlib.sha256(name.encode()).hexdigest()[:int(inputs["length"])]}
        if typ == "azure-native:storage:StorageAccount":
            return {"name": inputs["accountName"]}
        if typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{inputs['project']}.iam.gserviceaccount.com"
            return {"email": email, "name": f"projects/{inputs['project']}/serviceAccounts/{email}"}
        if typ == "gcp:serviceaccount/key:Key":  # base64 of the JSON key file
            return {"privateKey": base64.b64encode(json.dumps({"type": "service_account", "private_key":
                                                                "-----BEGIN PRIVATE KEY-----mock"}).encode()).decode()}
        if typ == "docker:index/remoteImage:RemoteImage":  # the built image's id, as the provider stores it
            return {"imageId": "sha256:" + hashlib.sha256(inputs["name"].encode()).hexdigest()}
        if typ == "command:remote:Command":
            return {"stdout": self.command_stdout(name, inputs), "stderr": ""}
        return {}

    @staticmethod
    def command_stdout(name: str, inputs: dict) -> str:
        if name.endswith("-tokens"):
            return "SWMTKN-1-mock-worker-token\nSWMTKN-1-mock-manager-token\n"
        if name.endswith(("-pull", "-weave-pin")):  # image-pull.sh and weave-pin.sh print it pinned by digest
            image = shlex.split(inputs["create"])[-1]
            return image + "\n" if "@" in image else f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}\n"
        return f"nodeid-{hashlib.sha256(name.encode()).hexdigest()[:12]}\n"


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.fake, self.lock = FakeCloud(), threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        with self.lock:  # registrations arrive on several threads
            extra = self.fake.outputs(args.typ, args.name, unwrap(args.inputs))
        return f"{args.name}-id", dict(args.inputs, **extra)

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {"keys": [{"keyName": "key1", "permissions": "FULL", "value": "bW9jay1zdG9yYWdlLWtleQ=="}]}
        return {}


class CaptureMonitor(MockMonitor):
    """The mock monitor, capturing every registration and the CPU time spent in itself (the engine's
    work in a real deployment, not the program's: the benchmark reports it apart)."""

    def __init__(self, mocks: Optional[pulumi.runtime.Mocks]):
        super().__init__(mocks)
        self.registered: list[Res] = []
        self.cpu_seconds = 0.0
        self._lock = threading.Lock()

    def capture(self, res: Res) -> None:
        with self._lock:
            self.registered.append(res)

    def RegisterResource(self, request):
        start = time.thread_time()
        try:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                deps = set(request.dependencies)
                if request.provider:  # the engine creates a resource's provider first, like a dependency
                    deps.add(request.provider.rsplit("::", 1)[0])
                self.capture(Res(request.type, request.name, response.urn, request.parent,
                                 rpc.deserialize_properties(request.object), deps, request.provider,
                                 bool(request.retainOnDelete), tuple(request.ignoreChanges),
                                 request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None))
            return response
        finally:
            with self._lock:
                self.cpu_seconds += time.thread_time() - start


@dataclass
class Run:
    """The captured graph of one program run."""

    resources: list[Res]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    monitor_cpu_s: float = 0.0  # CPU time in the mock resource monitor

    def of_type(self, typ: str) -> list[Res]:
        return [r for r in self.resources if r.type == typ]

    def get(self, name: str, typ: Optional[str] = None) -> Res:
        found = [r for r in self.resources if r.name == name and (typ is None or r.type == typ)]
        assert len(found) == 1, f"expected one resource named {name!r}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Res:
        return next(r for r in self.resources if r.urn == urn)

    def depends_on(self, res: Res, other: Res) -> bool:
        """True if `res` depends on `other`, directly or transitively."""
        index = {r.urn: r for r in self.resources}
        seen, todo = set(), list(res.deps)
        while todo:
            urn = todo.pop()
            if urn == other.urn:
                return True
            if urn not in seen and urn in index:
                seen.add(urn)
                todo.extend(index[urn].deps)
        return False

    def custom(self) -> list[Res]:
        return [r for r in self.resources if not r.type.startswith("flink-swarm:")]

    def vms(self) -> dict[str, Res]:
        """The cloud VMs (Azure's and GCP's) by node name."""
        return {r.name.removesuffix("-vm"): r for r in self.of_type(AZURE_VM) + self.of_type(GCP_VM)}


def user_data(vm: Res) -> dict:
    """The cloud-init document a VM boots with (Azure custom_data, GCP metadata user-data)."""
    if vm.type == AZURE_VM:
        text = base64.b64decode(vm.inputs["osProfile"]["customData"]).decode()
    else:
        text = vm.inputs["metadata"]["user-data"]
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def edit_script(monkeypatch, folder: Path, name: str) -> None:
    """Let the program read its host scripts from `folder`, a copy where `name` (a script, or a library
    under lib/) has one more line."""
    from components import steps

    shutil.copytree(steps.SCRIPTS, folder)
    with open(folder / name, "a") as edited:
        edited.write("# edited\n")
    monkeypatch.setattr(steps, "SCRIPTS", folder)


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_EXECUTOR = ThreadPoolExecutor(max_workers=64, thread_name_prefix="register")


def _fresh_runtime(monitor: CaptureMonitor, config: dict[str, Any], secrets: Iterable[str], stack: str) -> None:
    """Reset the SDK's process-wide state and install the monitor and the config.

    Registrations run on the event loop's default executor: give it room for every resource the
    program registers at once, so that the monitor, not the SDK's thread pool, bounds parallelism.
    """
    rt_settings.ROOT.set(None)
    _ensure_event_loop().set_default_executor(_EXECUTOR)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config({k: _config_value(v) for k, v in config.items()}, list(secrets))
    rt_settings.SETTINGS.rpc_manager.clear()
    rt_settings.SETTINGS.outputs.clear()


def _resolve(value: Any) -> tuple[Any, bool]:
    """A stack output's value, and whether it is secret."""
    out = pulumi.Output.from_input(value)
    return _sync_await(out.future()), _sync_await(out.is_secret())


@contextlib.contextmanager
def program_runs(folder: Path) -> Iterator[Callable[..., Run]]:
    """`runs(topology=None, **overrides) -> Run` for a module's fixture: BASE_CONFIG with `overrides`
    (flink-swarm keys, or full keys), on the node list `topology` if given (one with a static node gets
    the stack's own key pair, which static nodes need); each configuration run once. Key files go to
    `folder`/keys."""
    cache: dict[str, Run] = {}

    def runs(topology: Optional[list] = None, **overrides: Any) -> Run:
        key = json.dumps([topology, overrides], sort_keys=True)
        if key not in cache:
            config, secrets = dict(BASE_CONFIG), []
            if topology is not None:
                path = folder / f"topology-{hashlib.sha256(key.encode()).hexdigest()[:12]}.yaml"
                path.write_text(yaml.safe_dump({"nodes": topology}))
                config["flink-swarm:topology"] = str(path)
                if any(node["cloud"] == "static" for node in topology):
                    config.update({f"flink-swarm:{k}": v for k, v in OWN_KEY.items()})
                    secrets = ["flink-swarm:sshPrivateKey"]
            config.update({k if ":" in k else f"flink-swarm:{k}": v for k, v in overrides.items()})
            cache[key] = run_program(config, secrets=secrets)
        return cache[key]

    before = os.environ.get(KEY_DIR_ENV)
    os.environ[KEY_DIR_ENV] = str(folder / "keys")
    try:
        yield runs
    finally:
        if before is None:
            os.environ.pop(KEY_DIR_ENV)
        else:
            os.environ[KEY_DIR_ENV] = before


def run_program(config: dict[str, Any], secrets: Iterable[str] = (), stack: str = "test") -> Run:
    """Run `__main__.py` under mocks with `config` (full keys, e.g. `flink-swarm:adminCidrs`)."""
    monitor = CaptureMonitor(_Mocks())
    _fresh_runtime(monitor, config, secrets, stack)
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
    except Exception as err:
        err.registered = list(monitor.registered)  # type: ignore[attr-defined]  # what got in before it
        raise

    outputs, secret_outputs = {}, set()
    for key, value in rt_settings.get_root_resource().outputs.items():  # type: ignore[union-attr]
        outputs[key], secret = _resolve(value)
        if secret:
            secret_outputs.add(key)
    return Run(monitor.registered, outputs, secret_outputs, monitor.cpu_seconds)
