"""The stand-in provider plugins (tests/plugins), started as the `pulumi` CLI starts a plugin and
driven over gRPC with the Pulumi SDK's stubs, as the engine drives them."""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

BIN = Path(__file__).resolve().parent / "plugins" / "bin"
DIFF = provider_pb2.DiffResponse
KEY = "tls:index/privateKey:PrivateKey"
COMMAND = "command:remote:Command"
SERVICE = "docker:index/service:Service"
GCP_VM = "gcp:compute/instance:Instance"


class Plugin:
    """One stand-in process and a client of it."""

    def __init__(self, package: str, tmp_path: Path):
        env = dict(os.environ, FLINK_SWARM_PYTHON=sys.executable, FLINK_SWARM_STANDINS="fake",
                   FLINK_SWARM_STANDIN_LOG=str(tmp_path / f"{package}.log"))
        # As the engine runs it: the executable found by name, its address as the argument (provider_plugin.go:289).
        self.process = subprocess.Popen([str(BIN / f"pulumi-resource-{package}"), "127.0.0.1:1"],
                                        stdout=subprocess.PIPE, env=env, text=True)
        port = int(self.process.stdout.readline().strip())  # the first line of stdout (plugin.go:375-431)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def plugin(tmp_path):
    started: list[Plugin] = []

    def start(package: str) -> Plugin:
        started.append(Plugin(package, tmp_path))
        return started[-1]

    yield start
    for one in started:
        one.close()


def struct(value: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def plain(value: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(value)


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:dev::flink-swarm::{typ}::{name}"


def configured(stub, typ: str = "", args: dict | None = None):
    stub.Handshake(provider_pb2.ProviderHandshakeRequest(engine_address="127.0.0.1:1", configure_with_urn=True))
    return stub.Configure(provider_pb2.ConfigureRequest(args=struct(args or {}), acceptSecrets=True,
                                                        acceptResources=True, type=typ or None))


def check(stub, typ: str, name: str, news: dict, olds: dict | None = None) -> dict:
    done = stub.Check(provider_pb2.CheckRequest(urn=urn(typ, name), name=name, type=typ, olds=struct(olds or {}),
                                                news=struct(news)))
    assert not done.failures
    return plain(done.inputs)


def create(stub, typ: str, name: str, inputs: dict, preview: bool = False) -> tuple[str, dict]:
    done = stub.Create(provider_pb2.CreateRequest(urn=urn(typ, name), name=name, type=typ, properties=struct(inputs),
                                                  preview=preview))
    return done.id, plain(done.properties)


def diff(stub, typ: str, name: str, rid: str, old_inputs: dict, olds: dict, news: dict, ignore=()):
    return stub.Diff(provider_pb2.DiffRequest(id=rid, urn=urn(typ, name), name=name, type=typ,
                                              old_inputs=struct(old_inputs), olds=struct(olds), news=struct(news),
                                              ignoreChanges=list(ignore)))


@pytest.mark.parametrize("package,sdk", [("tls", "pulumi_tls"), ("random", "pulumi_random"),
                                         ("azure-native", "pulumi_azure_native"), ("gcp", "pulumi_gcp"),
                                         ("docker", "pulumi_docker"), ("command", "pulumi_command")])
def test_plugin_info_is_the_installed_sdk_version(plugin, package, sdk):
    stub = plugin(package).stub
    assert stub.GetPluginInfo(empty_pb2.Empty()).version == importlib.metadata.version(sdk)


def test_handshake_and_configure_accept_secrets_and_previews(plugin):
    stub = plugin("gcp").stub
    shake = stub.Handshake(provider_pb2.ProviderHandshakeRequest(engine_address="127.0.0.1:1"))
    assert shake.accept_secrets and shake.accept_resources
    done = stub.Configure(provider_pb2.ConfigureRequest(args=struct({"project": "p"}), acceptSecrets=True,
                                                        acceptResources=True, type="pulumi:providers:gcp"))
    assert done.acceptSecrets and done.acceptResources and done.supportsPreview
    stub.Cancel(empty_pb2.Empty())


def test_tls_key_round_trip_real_key_secret_and_replace(plugin):
    stub = plugin("tls").stub
    configured(stub)
    inputs = check(stub, KEY, "ssh-key", {"algorithm": "ED25519"})
    assert inputs == {"algorithm": "ED25519"}

    _, preview = create(stub, KEY, "ssh-key", inputs, preview=True)
    assert preview["privateKeyOpenssh"] == rpc.UNKNOWN and preview["publicKeyOpenssh"] == rpc.UNKNOWN

    rid, outputs = create(stub, KEY, "ssh-key", inputs)
    assert rid
    assert rpc.is_rpc_secret(outputs["privateKeyOpenssh"])  # Sensitive in terraform-provider-tls
    assert "BEGIN OPENSSH PRIVATE KEY" in outputs["privateKeyOpenssh"]["value"]
    assert outputs["publicKeyOpenssh"].startswith("ssh-ed25519 ") and "mock" not in outputs["publicKeyOpenssh"]
    assert not rpc.is_rpc_secret(outputs["publicKeyOpenssh"])

    # What Create returned comes back as olds: no change.
    same = diff(stub, KEY, "ssh-key", rid, inputs, outputs, check(stub, KEY, "ssh-key", inputs, inputs))
    assert same.changes == DIFF.DIFF_NONE and not same.replaces

    # Every input forces a new key.
    changed = diff(stub, KEY, "ssh-key", rid, inputs, outputs, {"algorithm": "RSA", "rsaBits": 4096})
    assert changed.changes == DIFF.DIFF_SOME
    assert set(changed.replaces) == {"algorithm", "rsaBits"}
    assert changed.hasDetailedDiff
    assert changed.detailedDiff["algorithm"].kind == provider_pb2.PropertyDiff.UPDATE_REPLACE
    assert changed.detailedDiff["rsaBits"].kind == provider_pb2.PropertyDiff.ADD_REPLACE
    assert not changed.deleteBeforeReplace

    stub.Delete(provider_pb2.DeleteRequest(id=rid, urn=urn(KEY, "ssh-key"), name="ssh-key", type=KEY,
                                           properties=struct(outputs), old_inputs=struct(inputs)))


def test_rsa_key_has_pem_forms(plugin):
    stub = plugin("tls").stub
    configured(stub)
    _, outputs = create(stub, KEY, "k", {"algorithm": "RSA", "rsaBits": 2048})
    assert outputs["publicKeyOpenssh"].startswith("ssh-rsa ")
    assert rpc.is_rpc_secret(outputs["privateKeyPem"]) and "PRIVATE KEY" in outputs["privateKeyPem"]["value"]


def test_random_password_is_random_and_secret(plugin):
    stub = plugin("random").stub
    configured(stub)
    typ = "random:index/randomPassword:RandomPassword"
    inputs = {"length": 32, "special": False}
    _, first = create(stub, typ, "weave-password", inputs)
    _, second = create(stub, typ, "weave-password", inputs)
    assert rpc.is_rpc_secret(first["result"])
    result = first["result"]["value"]
    assert len(result) == 32 and result.isalnum() and result != second["result"]["value"]
    changed = diff(stub, typ, "weave-password", "none", inputs, first, {"length": 24, "special": False})
    assert list(changed.replaces) == ["length"]


def test_gcp_vm_outputs_and_force_new(plugin):
    stub = plugin("gcp").stub
    configured(stub, "pulumi:providers:gcp", {"project": "p", "zone": "z"})
    inputs = {"name": "w1", "zone": "z", "machineType": "e2-small",
              "bootDisk": {"initializeParams": {"image": "debian-12"}},
              "networkInterfaces": [{"network": "n", "accessConfigs": [{"natIp": "198.18.0.1"}]}],
              "metadata": {"ssh-keys": "u:ssh-ed25519 AAA"}}
    _, preview = create(stub, GCP_VM, "w1", inputs, preview=True)
    assert preview["instanceId"] == rpc.UNKNOWN and preview["machineType"] == "e2-small"
    rid, outputs = create(stub, GCP_VM, "w1", inputs)
    assert rid == "projects/p/instance/w1"
    assert outputs["networkInterfaces"][0]["networkIp"].startswith("10.20.")
    assert outputs["instanceId"]

    resized = diff(stub, GCP_VM, "w1", rid, inputs, outputs, {**inputs, "machineType": "e2-medium"})
    assert resized.changes == DIFF.DIFF_SOME and not resized.replaces and list(resized.diffs) == ["machineType"]
    updated = stub.Update(provider_pb2.UpdateRequest(id=rid, urn=urn(GCP_VM, "w1"), name="w1", type=GCP_VM,
                                                     olds=struct(outputs), old_inputs=struct(inputs),
                                                     news=struct({**inputs, "machineType": "e2-medium"})))
    assert plain(updated.properties)["instanceId"] == outputs["instanceId"]  # same instance

    image = {**inputs, "bootDisk": {"initializeParams": {"image": "debian-13"}}}
    replaced = diff(stub, GCP_VM, "w1", rid, inputs, outputs, image)
    assert list(replaced.replaces) == ["bootDisk.initializeParams.image"]
    assert replaced.deleteBeforeReplace  # the bridge: a resource with an explicit name (cloud.py)


def test_a_secret_inside_an_input_keeps_its_output_secret(plugin):
    stub = plugin("gcp").stub
    configured(stub)
    inputs = {"name": "w1", "zone": "z", "networkInterfaces": [{"network": "n"}],
              "metadata": {"ssh-keys": "u:ssh-ed25519 AAA", "user-data": rpc.wrap_rpc_secret("host key")}}
    _, outputs = create(stub, GCP_VM, "w1", inputs)
    assert rpc.is_rpc_secret(outputs["metadata"]) and outputs["metadata"]["value"]["user-data"] == "host key"
    assert not rpc.is_rpc_secret(outputs["instanceId"])


def test_unknown_input_in_preview_is_a_change(plugin):
    stub = plugin("gcp").stub
    configured(stub)
    typ = "gcp:compute/firewall:Firewall"
    inputs = {"name": "fw", "sourceRanges": ["198.18.0.1/32"]}
    rid, outputs = create(stub, typ, "fw", inputs)
    unknown = diff(stub, typ, "fw", rid, inputs, outputs, {"name": "fw", "sourceRanges": [rpc.UNKNOWN]})
    assert unknown.changes == DIFF.DIFF_SOME and not unknown.replaces


def test_command_defaults_secrets_and_fake_stdout(plugin):
    stub = plugin("command").stub
    configured(stub)
    connection = rpc.wrap_rpc_secret({"host": "198.18.0.1", "privateKey": "KEY"})
    news = {"connection": connection, "create": "docker swarm join", "triggers": ["vm-1"]}
    inputs = check(stub, COMMAND, "w1-join", news)
    assert rpc.is_rpc_secret(inputs["connection"])  # the secret stays one, defaults added under it
    assert inputs["connection"]["value"] == {"host": "198.18.0.1", "privateKey": "KEY", "user": "root", "port": 22,
                                             "dialErrorLimit": 10, "perDialTimeout": 15}

    _, preview = create(stub, COMMAND, "w1-join", inputs, preview=True)
    assert preview["stdout"] == rpc.UNKNOWN and rpc.is_rpc_secret(preview["connection"])

    rid, outputs = create(stub, COMMAND, "w1-join", inputs)
    assert outputs["stdout"].startswith("nodeid-") and outputs["stdout"].endswith("-1")  # a new node
    assert rpc.is_rpc_secret(outputs["connection"])

    same = diff(stub, COMMAND, "w1-join", rid, inputs, outputs, inputs)
    assert same.changes == DIFF.DIFF_NONE
    # A changed trigger: an in-place change for the provider; the SDK's replaceOnChanges `triggers[*]`
    # (applied by the engine) needs the element's path in `diffs`.
    moved = diff(stub, COMMAND, "w1-join", rid, inputs, outputs, {**inputs, "triggers": ["vm-2"]})
    assert moved.changes == DIFF.DIFF_SOME and list(moved.diffs) == ["triggers[0]"] and not moved.replaces
    added = diff(stub, COMMAND, "w1-join", rid, {k: v for k, v in inputs.items() if k != "triggers"}, outputs, inputs)
    assert list(added.replaces) == ["triggers"]
    assert added.detailedDiff["triggers"].kind == provider_pb2.PropertyDiff.ADD_REPLACE

    updated = stub.Update(provider_pb2.UpdateRequest(id=rid, urn=urn(COMMAND, "w1-join"), name="w1-join", type=COMMAND,
                                                     olds=struct(outputs), old_inputs=struct(inputs),
                                                     news=struct({**inputs, "create": "docker swarm join --x"})))
    assert plain(updated.properties)["stdout"] == outputs["stdout"]  # run again by an update: the same node


def test_node_counts_and_addresses_outlive_the_process(plugin, tmp_path, monkeypatch):
    """Each `pulumi` run starts its plugins anew: what an old state's delete runs, and the next fake
    address or node id, must not depend on the process that made it."""
    monkeypatch.setenv("FLINK_SWARM_STANDIN_STATE", str(tmp_path / "standins"))
    connection = {"host": "198.18.0.1", "privateKey": "KEY"}
    inputs = {"connection": connection, "create": "join", "delete": "leave"}
    first = plugin("command").stub
    configured(first)
    rid, outputs = create(first, COMMAND, "w1-join", inputs)
    assert outputs["stdout"].endswith("-1")

    later = plugin("command").stub  # the next run's process
    configured(later)
    later.Delete(provider_pb2.DeleteRequest(id=rid, urn=urn(COMMAND, "w1-join"), name="w1-join", type=COMMAND,
                                            properties=struct(outputs), old_inputs=struct(inputs)))
    _, again = create(later, COMMAND, "w1-join", inputs)
    assert again["stdout"].endswith("-2")  # a new node

    typ = "azure-native:network:PublicIPAddress"
    ip = {"resourceGroupName": "g", "publicIpAddressName": "a"}
    azure = plugin("azure-native").stub
    configured(azure)
    _, one = create(azure, typ, "a", ip)
    azure2 = plugin("azure-native").stub
    configured(azure2)
    _, two = create(azure2, typ, "b", {**ip, "publicIpAddressName": "b"})
    assert one["ipAddress"] != two["ipAddress"]


def test_docker_service_diff_follows_the_schema(plugin):
    stub = plugin("docker").stub
    configured(stub, "pulumi:providers:docker", {"host": "ssh://root@198.18.0.1", "sshOpts": "[]"})
    news = {"name": "jobmanager", "taskSpec": {"containerSpec": {"image": "flink:1.20"}},
            "updateConfig": {"parallelism": 1}}
    inputs = check(stub, SERVICE, "jobmanager", news)
    assert inputs["updateConfig"] == {"parallelism": 1, "delay": "0s", "failureAction": "pause", "monitor": "5s",
                                      "maxFailureRatio": "0.0", "order": "stop-first"}  # Terraform Defaults
    rid, outputs = create(stub, SERVICE, "jobmanager", inputs)
    assert rid and outputs == inputs  # stored verbatim (fake.py FakeDocker)

    assert diff(stub, SERVICE, "jobmanager", rid, inputs, outputs, inputs).changes == DIFF.DIFF_NONE
    image = {**inputs, "taskSpec": {"containerSpec": {"image": "flink:1.21"}}}
    rolled = diff(stub, SERVICE, "jobmanager", rid, inputs, outputs, image)
    assert rolled.changes == DIFF.DIFF_SOME and not rolled.replaces
    assert list(rolled.diffs) == ["taskSpec.containerSpec.image"]
    ignored = diff(stub, SERVICE, "jobmanager", rid, inputs, outputs, image, ignore=["taskSpec.containerSpec.image"])
    assert ignored.changes == DIFF.DIFF_NONE
    renamed = diff(stub, SERVICE, "jobmanager", rid, inputs, outputs, {**inputs, "name": "jm"})
    assert list(renamed.replaces) == ["name"] and renamed.deleteBeforeReplace

    # The provider resource's own config: pulumi-docker updates a provider in place.
    moved = stub.DiffConfig(provider_pb2.DiffRequest(
        urn=urn("pulumi:providers:docker", "manager"), type="pulumi:providers:docker", name="manager",
        old_inputs=struct({"host": "ssh://root@198.18.0.1"}), olds=struct({"host": "ssh://root@198.18.0.1"}),
        news=struct({"host": "ssh://root@198.18.0.2"})))
    assert moved.changes == DIFF.DIFF_SOME and not moved.replaces


def test_docker_network_name_change_replaces(plugin):
    stub = plugin("docker").stub
    configured(stub)
    typ = "docker:index/network:Network"
    inputs = check(stub, typ, "flink", {"name": "flink", "driver": "weave"})
    assert inputs["ipamDriver"] == "default"
    rid, outputs = create(stub, typ, "flink", inputs)
    changed = diff(stub, typ, "flink", rid, inputs, outputs, {**inputs, "driver": "overlay"})
    assert list(changed.replaces) == ["driver"]


def test_azure_invoke_list_storage_account_keys_is_secret(plugin):
    stub = plugin("azure-native").stub
    configured(stub)
    done = stub.Invoke(provider_pb2.InvokeRequest(tok="azure-native:storage:listStorageAccountKeys",
                                                  args=struct({"accountName": "a", "resourceGroupName": "g"})))
    keys = plain(getattr(done, "return"))["keys"]
    assert rpc.is_rpc_secret(keys) and keys["value"][0]["value"]


def test_azure_vm_refuses_an_image_change_in_place(plugin):
    stub = plugin("azure-native").stub
    configured(stub)
    typ = "azure-native:compute:VirtualMachine"
    inputs = {"resourceGroupName": "g", "vmName": "m", "storageProfile": {"imageReference": {"sku": "12"}}}
    rid, outputs = create(stub, typ, "m", inputs)
    assert rid == "/subscriptions/sub/resourceGroups/g/VirtualMachine/m" and outputs["vmId"]
    news = {**inputs, "storageProfile": {"imageReference": {"sku": "13"}}}
    with pytest.raises(grpc.RpcError) as failed:
        stub.Update(provider_pb2.UpdateRequest(id=rid, urn=urn(typ, "m"), name="m", type=typ, olds=struct(outputs),
                                               old_inputs=struct(inputs), news=struct(news)))
    assert "PropertyChangeNotAllowed" in failed.value.details()
