"""What a provider operation is handed: the resource's goal (urn, type, name, inputs) and, for one that
exists, its id and outputs, as the engine passes them to a plugin (tests/plugins/standins.py builds them
from each gRPC request). Values are plain: secrets unwrapped; a value not known yet is `UNKNOWN`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

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


def holds(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether `value`, or anything inside it (an object's values, a list's items), passes `test`."""
    if test(value):
        return True
    if isinstance(value, dict):
        return any(holds(v, test) for v in value.values())
    if isinstance(value, list):
        return any(holds(v, test) for v in value)
    return False


@dataclass
class Goal:
    """A resource as the program asks for it."""

    urn: str
    type: str
    name: str
    inputs: dict


@dataclass
class ResourceState:
    """A resource that exists: the goal it was made from, its id and outputs."""

    goal: Goal
    id: str = ""
    outputs: dict = field(default_factory=dict)

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
    def inputs(self) -> dict:
        return plain(self.goal.inputs)

    def outputs_plain(self) -> dict:
        return plain(self.outputs)
