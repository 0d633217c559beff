"""Imitations of the providers the program uses, each as strict as the real one where the tests look.

A provider answers `diff(old, news, config, ignore)` (`ignore`: the resource's ignoreChanges paths,
which a bridged provider drops from its diff), `create(goal, news, config)`, `update(old, news,
config)` and `delete(old, config)`; `config` holds the inputs of the resource's explicit provider
(the docker provider's host), or {}. `Registry` maps each type token to its provider.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from .state import Goal, ResourceState


@dataclass(frozen=True)
class Diff:
    """A provider's DiffResponse: whether anything changed, the changed paths and the replace keys."""

    changes: bool
    replaces: tuple[str, ...] = ()
    diffs: tuple[str, ...] = ()  # dotted paths of the changed inputs, e.g. "taskSpec.containerSpec.image"
    delete_before_replace: bool = False

    @property
    def replace(self) -> bool:
        return self.changes and bool(self.replaces)

    def with_replace_on_changes(self, paths: list[str]) -> Diff:
        """The engine's applyReplaceOnChanges (SG:3170-3261): changed paths under `paths` become replaces.

        Only a diff with changes is touched; `triggers[*]` contains `triggers[0]`, `a.b` contains `a.b.c`.
        """
        if not self.changes or not paths:
            return self
        hits = tuple(d for d in self.diffs if any(_contains(p, d) for p in paths))
        return Diff(True, tuple(dict.fromkeys(self.replaces + hits)), self.diffs, self.delete_before_replace)


def _parts(path: str) -> list[str]:
    return [p for p in re.split(r"\.|\[|\]", path) if p]


def _contains(outer: str, inner: str) -> bool:
    if outer == "*":
        return True
    a, b = _parts(outer), _parts(inner)
    return len(b) >= len(a) and all(x == "*" or x == y for x, y in zip(a, b))


def changed_paths(old, new, prefix: str = "") -> list[str]:
    """Dotted paths where `new` differs from `old` (objects recursed, lists element by element)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else key
            if key not in old or key not in new:
                out.append(path)
            else:
                out += changed_paths(old[key], new[key], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for i, (a, b) in enumerate(zip(old, new)) for p in changed_paths(a, b, f"{prefix}[{i}]")]
    return [] if old == new and type(old) is type(new) else [prefix or "*"]


class Provider(Protocol):
    def diff(self, old: ResourceState, news: dict, config: dict, ignore: tuple = ()) -> Diff: ...

    def create(self, goal: Goal, news: dict, config: dict) -> tuple[str, dict]: ...

    def update(self, old: ResourceState, news: dict, config: dict) -> dict: ...

    def delete(self, old: ResourceState, config: dict) -> None: ...


class Registry:
    """Type token (or a prefix ending in ':') -> provider; an unknown type fails the run, naming it."""

    def __init__(self, providers: dict[str, Provider]):
        self.providers = providers

    def get(self, typ: str) -> Provider:
        if typ in self.providers:
            return self.providers[typ]
        for key, provider in self.providers.items():
            if key.endswith(":") and typ.startswith(key):
                return provider
        raise KeyError(f"the stand-ins have no provider for {typ}")
