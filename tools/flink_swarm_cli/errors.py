"""What went wrong, as a user reads it: one line, and the full text only with `--verbose`.

Flink's REST API answers a refusal with an ErrorResponseBody, {"errors": [...]}
(flink-runtime/src/main/java/org/apache/flink/runtime/rest/messages/ErrorResponseBody.java), whose
text is a Java stack trace: AbstractHandler#handleException (flink-runtime/.../rest/handler/
AbstractHandler.java, handleException, l.233-272 in the copy read) sends a RestHandlerException as its stringified
trace, truncated, and anything else as ["Internal server error.", "<Exception on server side:\\n<trace>
\\nEnd of exception on server side>"]. The trace runs to 50-80 lines; the line that says why is the
last "Caused by:", the root cause. A savepoint's failure-cause carries the same kind of trace
(SerializedThrowable's "stack-trace").
"""
from __future__ import annotations

import re

# A Java class name with its package, as traces print them: org.apache.flink.x.FooException
QUALIFIED = re.compile(r"\b(?:[a-z_$][\w$]*\.)+([A-Z][\w$]*(?:Exception|Error|Throwable))\b")
# An exception's own line (not an "at ..." frame): [Caused by: ]pkg.Class[: message]
EXCEPTION_LINE = re.compile(r"^(?:Caused by: )?(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?::|$)")
MOST = 400  # characters of one line


class Refused(RuntimeError):
    """Flink (or SSH, or Pulumi, or whatever answered) said no.

    str(): the one line a user reads; `trace`: the full text behind it (printed with --verbose); `data`:
    what the command did before (--output json prints it with the error)."""

    exit_code = 1

    def __init__(self, message: str, trace: str | None = None):
        super().__init__(message)
        self.trace = trace
        self.data: dict | None = None


class TimedOut(Refused):
    """A wait ran out of time (exit code 124, as timeout(1) has it)."""

    exit_code = 124


def shorten(line: str) -> str:
    """One line without the packages of the Java class names in it, at most MOST characters."""
    line = QUALIFIED.sub(r"\1", line.strip())
    return line if len(line) <= MOST else line[:MOST - 3] + "..."


def _message(line: str) -> str:
    """An exception line's message: `RestHandlerException: Job x not found.` -> `Job x not found.`."""
    line = line.removeprefix("Caused by: ")
    if EXCEPTION_LINE.match(line) and ": " in line:
        return line.split(": ", 1)[1]
    return line


def _lines(text: str) -> list[str]:
    """The lines of a trace that say something: no frames, no "... 3 more", no server-side wrapper."""
    kept = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("at ", "... ")) or line == "End of exception on server side>":
            continue
        kept.append(line.removeprefix("<Exception on server side:").strip() or None)
    return [line for line in kept if line]


def _cause(lines: list[str]) -> str | None:
    """The root cause's line: the last "Caused by:", else the last exception line after the first."""
    causes = [line for line in lines if line.startswith("Caused by: ")]
    if causes:
        return causes[-1].removeprefix("Caused by: ")
    exceptions = [line for line in lines[1:] if EXCEPTION_LINE.match(line)]
    return exceptions[-1] if exceptions else None


def root_cause(text: str) -> str | None:
    """The trace's root cause, one line (`Class: message`); None when the text is no trace."""
    lines = _lines(text)
    cause = _cause(lines) or (lines[0] if lines and EXCEPTION_LINE.match(lines[0]) else None)
    return shorten(cause) if cause else None


def summary(text: str) -> str:
    """One line for an error text: what failed (its first line's message) and, when it is another
    line, its root cause."""
    lines = _lines(text)
    if not lines:
        return "(no error text)"
    headline, cause = _message(lines[0]), _cause(lines)
    if cause is None or _message(cause) == headline:
        return shorten(headline)
    return f"{shorten(headline)} Root cause: {shorten(cause)}"
