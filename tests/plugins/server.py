"""A generic ResourceProvider gRPC server: `server.py <package> [engine address] [flags]`.

Started by the `pulumi` CLI as `pulumi-resource-<package>` (bin/): it prints the port it listens on as
the first line of stdout and serves until it is killed. Each operation goes to standins.Standin, which
answers with the imitations of tests/plugins/providers.

The protocol is the one the engine speaks (pulumi/pulumi, proto/pulumi/provider.proto and
pkg/resource/plugin/, cited at commit 1b59498 as PROTO, PP = provider_plugin.go, PL = plugin.go):
- start: the engine runs the plugin with its own address as the argument (PP:289, 457; flags such as
  `--logtostderr`, `-v=N`, `--tracing X` may come first, PL:727-742), reads one line of stdout as the
  port (PL:375-431) and dials 127.0.0.1:<port> (PL:189); stdout after that line is only traced, so
  this server writes nothing more there (PL:433-436); its log goes to FLINK_SWARM_STANDIN_LOG, if set.
- Handshake (PROTO:36, 249-325): answered, so the engine takes acceptSecrets/acceptResources from it
  and supportsPreview is then always true (PP:314-323); an engine that gets Unimplemented falls back to
  Configure's answer (PP:389-393, 1147-1157), which says the same (acceptSecrets, acceptResources,
  supportsPreview, as the real providers do).
- GetPluginInfo (PROTO:209): the version of the installed Python SDK package (PP:2404-2434).
- CheckConfig / DiffConfig (PROTO:88, 102): use the same CheckRequest / DiffRequest messages (PP:706-712,
  831-838); DiffConfig gets old inputs, old outputs and news.
- Configure (PROTO:391-495): `args` holds the provider's inputs, secrets kept (PP:1099-1108, 1127-1138).
- Check (PROTO:593-669): olds are the old inputs (empty on create), news the new ones; the answer's
  `inputs` are what the engine keeps and sends on (PP:1235-1262).
- Diff (PROTO:692-818): `olds` are the old outputs, `old_inputs` the old inputs, `news` the checked
  inputs, `ignoreChanges` the resource's paths (PP:1358-1366). `changes` must be DIFF_NONE or DIFF_SOME
  (0, DIFF_UNKNOWN, makes the engine diff by itself); `diffs` carries the changed property paths, which
  the engine's replaceOnChanges tests with PropertyPath.Contains (step_generator.go:3170-3230),
  so they are full paths (`triggers[0]`); `replaces` the ones that force a replacement; `detailedDiff`
  with `hasDetailedDiff` (decodeDetailedDiff, PP:753-790).
- Create (PROTO:820-862): with `preview` the engine wants the outputs it can know, computed ones unknown
  (PP:1430-1447, 1468-1474); without it an empty id is an error (PP:1491-1494).
- Read (PROTO:865-917), Update (PROTO:977-1031, `preview` too: PP:1706-1721, 1776-1789),
  Delete (PROTO:1033-1068: `properties` the outputs, `old_inputs`, PP:1895-1903), Cancel (PROTO:206,
  PP:2453-2462), Invoke (PROTO:517-535, PP:2224-2298), GetSchema (PROTO:375-386, PP:643-675).
Secrets travel as the SDK's signature objects in the Structs (pulumi.runtime.rpc); outputs come back
secret where the real providers mark them (standins.SECRET_OUTPUTS).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from concurrent import futures
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from google.protobuf import empty_pb2, json_format, struct_pb2  # noqa: E402
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc  # noqa: E402

from tests.plugins.standins import Standin  # noqa: E402

MAX_MESSAGE = 400 * 1024 * 1024  # the engine's own gRPC limit (sdk/go/common/util/rpcutil/serve.go:31-37: 400 MB)
KIND = {"ADD": provider_pb2.PropertyDiff.ADD, "DELETE": provider_pb2.PropertyDiff.DELETE,
        "UPDATE": provider_pb2.PropertyDiff.UPDATE}
REPLACE_KIND = {"ADD": provider_pb2.PropertyDiff.ADD_REPLACE, "DELETE": provider_pb2.PropertyDiff.DELETE_REPLACE,
                "UPDATE": provider_pb2.PropertyDiff.UPDATE_REPLACE}


def to_dict(struct: struct_pb2.Struct) -> dict:
    """A property map as it travelled: secrets as signature objects, unknowns as the sentinel."""
    return json_format.MessageToDict(struct) if struct is not None else {}


def to_struct(value: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


class _Log:
    def __init__(self, package: str):
        self.package = package
        self.path = os.environ.get("FLINK_SWARM_STANDIN_LOG")
        self.lock = threading.Lock()

    def __call__(self, op: str, **fields) -> None:
        if not self.path:
            return
        with self.lock, open(self.path, "a") as out:
            out.write(json.dumps({"pid": os.getpid(), "package": self.package, "op": op, **fields}, default=str) + "\n")


class Provider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, package: str):
        self.standin = Standin(package)
        self.log = _Log(package)

    def _fail(self, context, op: str, err: Exception):
        self.log(op, error=f"{type(err).__name__}: {err}", trace=traceback.format_exc())
        context.abort(grpc.StatusCode.UNKNOWN, f"{type(err).__name__}: {err}")

    # --- plugin ------------------------------------------------------------------------------
    def Handshake(self, request, context):
        self.log("Handshake", engine=request.engine_address)
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=True)

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.standin.version())

    def GetSchema(self, request, context):
        schema = {"name": self.standin.package, "version": self.standin.version(), "resources": {}, "functions": {}}
        return provider_pb2.GetSchemaResponse(schema=json.dumps(schema))

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    # --- the provider's own config ---------------------------------------------------------
    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        try:
            result = self.standin.diff_config(request.type, to_dict(request.old_inputs), to_dict(request.olds),
                                              to_dict(request.news))
        except Exception as err:  # noqa: BLE001 - every failure goes back to the engine
            return self._fail(context, "DiffConfig", err)
        return self._diff_response(result)

    def Configure(self, request, context):
        self.standin.configure(to_dict(request.args))
        self.log("Configure", type=request.type, urn=request.urn)
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True)

    # --- resources ---------------------------------------------------------------------------
    def Check(self, request, context):
        try:
            inputs = self.standin.check(request.type, to_dict(request.olds), to_dict(request.news))
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Check", err)
        return provider_pb2.CheckResponse(inputs=to_struct(inputs))

    def Diff(self, request, context):
        try:
            result = self.standin.diff(request.urn, request.type, request.name, request.id,
                                       to_dict(request.old_inputs), to_dict(request.olds), to_dict(request.news),
                                       list(request.ignoreChanges))
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Diff", err)
        self.log("Diff", urn=request.urn, changes=result.diff.changes, replaces=result.diff.replaces,
                 diffs=result.diff.diffs)
        return self._diff_response(result)

    @staticmethod
    def _diff_response(result):
        diff = result.diff
        replaces = set(diff.replaces)
        detailed = {path: provider_pb2.PropertyDiff(
            kind=(REPLACE_KIND if path in replaces else KIND)[result.kind(path)], inputDiff=True)
            for path in diff.diffs}
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if diff.changes else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=list(diff.replaces) if diff.changes else [], diffs=list(diff.diffs),
            deleteBeforeReplace=bool(diff.changes and diff.replaces and diff.delete_before_replace),
            detailedDiff=detailed, hasDetailedDiff=True)

    def Create(self, request, context):
        try:
            resource_id, outputs = self.standin.create(request.urn, request.type, request.name,
                                                       to_dict(request.properties), request.preview)
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Create", err)
        self.log("Create", urn=request.urn, preview=request.preview, id=resource_id,
                 env=self.standin.sent_env(request.name))
        return provider_pb2.CreateResponse(id=resource_id, properties=to_struct(outputs))

    def Read(self, request, context):
        resource_id, properties, inputs = self.standin.read(request.type, request.id, to_dict(request.properties),
                                                            to_dict(request.inputs))
        self.log("Read", urn=request.urn, id=resource_id)
        return provider_pb2.ReadResponse(id=resource_id, properties=to_struct(properties), inputs=to_struct(inputs))

    def Update(self, request, context):
        try:
            outputs = self.standin.update(request.urn, request.type, request.name, request.id,
                                          to_dict(request.old_inputs), to_dict(request.olds), to_dict(request.news),
                                          request.preview)
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Update", err)
        self.log("Update", urn=request.urn, preview=request.preview, env=self.standin.sent_env(request.name))
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request, context):
        try:
            self.standin.delete(request.urn, request.type, request.name, request.id, to_dict(request.old_inputs),
                                to_dict(request.properties))
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Delete", err)
        self.log("Delete", urn=request.urn, env=self.standin.sent_env(request.name))
        return empty_pb2.Empty()

    def Invoke(self, request, context):
        try:
            result = self.standin.invoke(request.tok, to_dict(request.args))
        except Exception as err:  # noqa: BLE001
            return self._fail(context, "Invoke", err)
        self.log("Invoke", tok=request.tok)
        return provider_pb2.InvokeResponse(**{"return": to_struct(result)})


def serve(package: str) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                                  ("grpc.max_send_message_length", MAX_MESSAGE)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Provider(package), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")  # the one line the engine reads (PL:375-431)
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=None)
        time.sleep(0)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: server.py <package> [engine address]\n")
        return 2
    serve(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
