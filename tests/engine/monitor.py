"""The resource monitor the program talks to under the engine: each registration becomes a step.

It extends the harness's capturing monitor (so a run still yields the captured graph and the stack
outputs) and hands every registration, with the options the SDK sends (py-sdk 3.272
runtime/resource.py:1286-1325), to the engine, which applies it before answering, as the real engine
answers only once the step is done.
"""
from __future__ import annotations

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import _ensure_event_loop
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

from tests.harness import CaptureMonitor, Res

from .state import Goal


def goal_of(request, urn: str) -> Goal:
    """The engine's view of one RegisterResourceRequest."""
    trigger = None
    if request.HasField("replacement_trigger"):
        trigger = rpc.deserialize_property(json_format.MessageToDict(request.replacement_trigger))
    return Goal(
        urn=urn, type=request.type, name=request.name, custom=request.custom, parent=request.parent,
        inputs=rpc.deserialize_properties(request.object),
        dependencies=list(request.dependencies),
        property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
        provider=request.provider,
        delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
        replace_on_changes=list(request.replaceOnChanges), ignore_changes=list(request.ignoreChanges),
        replacement_trigger=trigger, additional_secret_outputs=list(request.additionalSecretOutputs))


class EngineMonitor(CaptureMonitor):
    """Registrations go to `run.register(goal)`, which returns the resource's id and outputs."""

    def __init__(self, run):
        super().__init__(mocks=None)
        self.run = run

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        goal = goal_of(request, urn)
        resource_id, outputs = self.run.register(goal)
        if request.type != "pulumi:pulumi:Stack":
            self.capture(Res(request.type, request.name, urn, request.parent, goal.inputs,
                             set(goal.dependencies) | ({goal.provider.rsplit("::", 1)[0]} if goal.provider else set()),
                             request.provider, bool(request.retainOnDelete), tuple(goal.ignore_changes)))
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id, object=_sync_await(rpc.serialize_properties(outputs, {})))

    def ReadResource(self, request):
        raise NotImplementedError("the program reads no resources")
