"""A SQL script as statements: split on `;` outside single-quoted strings ('it''s' escapes a quote by
doubling it), backquoted identifiers (`a``b` likewise), `--` line comments and `/* */` block comments,
as Flink's SQL parser reads those (its Calcite-based parser quotes identifiers with backquotes). A
statement starts at its first character that is no comment nor space (so a comment before it is left
out, while one inside it, such as a `/*+ OPTIONS(...) */` hint, stays); a piece with nothing but
comments and spaces is no statement.
"""
from __future__ import annotations

from dataclasses import dataclass

QUOTES = ("'", "`")


@dataclass(frozen=True)
class Statement:
    number: int  # 1, 2, ... in the script
    line: int  # where it starts in the script (1-based)
    text: str

    def label(self) -> str:
        """`statement 2 (SELECT * FROM t)`: its number and first line, shortened."""
        first = self.text.splitlines()[0].strip()
        return f"statement {self.number} ({first if len(first) <= 60 else first[:57] + '...'})"


def _skip(text: str, i: int) -> int:
    """The index after the quoted string or comment that starts at `i` (the text's end if unclosed);
    `i` itself when none starts there."""
    char = text[i]
    if char in QUOTES:
        end = i + 1
        while True:
            end = text.find(char, end)
            if end < 0:
                return len(text)
            if text[end + 1:end + 2] != char:  # not a doubled quote: the closing one
                return end + 1
            end += 2
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    return i


def split(text: str) -> list[Statement]:
    """The statements of a script, in order, without their `;` and the spaces around them."""
    found: list[Statement] = []
    start: int | None = None  # the current statement's first character that is no comment nor space
    i = 0
    while i < len(text):
        after = _skip(text, i)
        if after != i and text[i] not in QUOTES:  # a comment
            i = after
            continue
        if text[i] == ";":
            if start is not None:
                found.append(_statement(text, start, i, len(found) + 1))
            start, i = None, i + 1
            continue
        if start is None and not text[i].isspace():
            start = i
        i = after if after != i else i + 1
    if start is not None:
        found.append(_statement(text, start, len(text), len(found) + 1))
    return found


def _statement(text: str, start: int, end: int, number: int) -> Statement:
    return Statement(number, text.count("\n", 0, start) + 1, text[start:end].rstrip())
