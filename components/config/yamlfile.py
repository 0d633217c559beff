"""The strict YAML reader for config/defaults.yaml and the topology files, and the merge of
defaults with a stack's settings."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Hashable, Mapping

import yaml

from .checks import clip, fail, short

MAX_BYTES = 1 << 20  # a topology of 5000 groups fits in a tenth of it


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML this program refuses, with the fix."""

    def __init__(self, problem: str, mark: Any, fix: str):
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (a few hundred bytes of them expand to gigabytes) and
    without duplicate keys (YAML would keep the last one without a word)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("anchors (&name) and aliases (*name) are not accepted", event.start_mark,
                           "write each value out in full where it is used")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses it
            if key in seen:
                raise _Refused(f"duplicate key {short(key)}", key_node.start_mark, "keep one of the entries")
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, fieldname: str, fix: str = "restore the file, e.g. `git checkout -- <file>`") -> Any:
    """Read a UTF-8 YAML file strictly, turning every error into a ConfigError naming `fieldname`;
    `fix` says what to do when the file cannot be read."""
    shown = repr(str(path))  # the path the user gave, in full; an error never shows the file's content
    try:
        info = os.stat(path)  # before opening: a FIFO or a device (/dev/zero) is never read
        if not stat.S_ISREG(info.st_mode):
            fail(fieldname, path, "not a regular file (a directory, FIFO, socket or device)", fix, shown)
        if info.st_size > MAX_BYTES:
            fail(fieldname, path, f"{info.st_size} bytes, more than {MAX_BYTES} (a topology is a few kilobytes)",
                 fix, shown)
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        fail(fieldname, path, f"cannot read the file ({err.strerror})", fix, shown)
    except UnicodeDecodeError as err:
        fail(fieldname, path, f"not UTF-8 text (byte {err.start})", "save the file as UTF-8", shown)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        fail(fieldname, path, f"not valid YAML: {_where(err)}",
             getattr(err, "fix", "correct the YAML syntax at the position shown"), shown)
    except RecursionError:
        fail(fieldname, path, "nested too deeply", "write a flat list of `nodes:` entries", shown)


def _where(err: yaml.YAMLError) -> str:
    """The error's line, column and problem, without the snippet of the file PyYAML quotes."""
    mark = getattr(err, "problem_mark", None)
    problem = clip(" ".join(str(getattr(err, "problem", None) or "a syntax error").split()))
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
