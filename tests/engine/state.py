"""What the engine keeps between runs: one record per resource, as a Pulumi snapshot does.

Inputs and outputs are kept as the SDK sent them (secrets still wrapped, so a test can check that
no secret sits in plain state); providers see them unwrapped (`plain`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi.runtime import rpc

from tests.harness import unwrap


class Unknown:
    """An input whose value is not known yet (the engine's `<unknown>`): different from every value."""

    def __repr__(self) -> str:
        return "<unknown>"

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


UNKNOWN = Unknown()


plain = unwrap  # `value` with secret markers removed


def secret(value: Any) -> dict:
    """`value` wrapped as a secret, as the SDK serialises one."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


@dataclass
class Goal:
    """One registration: what the program asks for (pkg/resource/goal.go in pulumi/pulumi)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict  # as sent, secrets wrapped
    dependencies: list[str]  # dependsOn and every property dependency (py-sdk runtime/resource.py:276-282)
    property_dependencies: dict[str, list[str]]
    provider: str = ""  # "<provider urn>::<provider id>"
    delete_before_replace: Optional[bool] = None  # None: the provider decides
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    replacement_trigger: Any = None
    additional_secret_outputs: list[str] = field(default_factory=list)


@dataclass
class ResourceState:
    """One resource of the snapshot (pkg/resource/state.go): the goal it was made from, its id and outputs."""

    goal: Goal
    id: str = ""
    outputs: dict = field(default_factory=dict)  # as stored by the provider, secrets wrapped
    delete: bool = False  # replaced create-before-delete: deleted at the end of the run
    pending_replacement: bool = False  # deleted ahead of its replacement (delete-before-replace)

    @property
    def urn(self) -> str:
        return self.goal.urn

    @property
    def type(self) -> str:
        return self.goal.type

    @property
    def name(self) -> str:
        return self.goal.name

    @property
    def custom(self) -> bool:
        return self.goal.custom

    @property
    def inputs(self) -> dict:
        return plain(self.goal.inputs)

    def outputs_plain(self) -> dict:
        return plain(self.outputs)

    @property
    def provider_urn(self) -> str:
        return self.goal.provider.rsplit("::", 1)[0] if self.goal.provider else ""

    def dependencies(self, with_parent: bool = True) -> set[str]:
        """What must exist while this does (pkg/resource/graph/dependency_graph.go DependenciesOf)."""
        deps = set(self.goal.dependencies)
        for urns in self.goal.property_dependencies.values():
            deps.update(urns)
        if self.provider_urn:
            deps.add(self.provider_urn)
        if with_parent and self.goal.parent:
            deps.add(self.goal.parent)
        return deps


def topological(resources: list[ResourceState]) -> list[ResourceState]:
    """Dependencies first (the order of a snapshot); ties keep the given order."""
    by_urn = {r.urn: r for r in resources}
    placed: set[int] = set()
    out: list[ResourceState] = []

    def visit(res: ResourceState, path: frozenset) -> None:
        if id(res) in placed or res.urn in path:
            return
        for urn in sorted(res.dependencies()):
            if urn in by_urn:
                visit(by_urn[urn], path | {res.urn})
        placed.add(id(res))
        out.append(res)

    for res in resources:
        visit(res, frozenset())
    return out
