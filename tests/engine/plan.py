"""The steps of one run, printed as `pulumi up` prints them.

Symbols and the summary follow pulumi/pulumi pkg/resource/deploy/step.go (RawPrefix, 2336-2372;
PastTense, 2374-2392) and pkg/backend/display/diff.go (renderSummaryEvent, 271-367). Only logical
steps are counted (pkg/engine/update.go:1365-1371): a replacement counts once, as `+-`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

PREFIX = {"same": "  ", "create": "+ ", "update": "~ ", "delete": "- ", "replace": "+-",
          "create-replacement": "++", "delete-replaced": "--"}
PAST = {"same": "same", "create": "created", "update": "updated", "delete": "deleted", "replace": "replaced",
        "create-replacement": "created replacement", "delete-replaced": "deleted original"}
COUNTED = ("create", "update", "delete", "replace")  # StepOps order, less the ops not counted


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    name: str
    keys: tuple[str, ...] = ()  # the inputs that changed (update) or force the replacement (replace)
    seconds: float = 0.0
    at: float = 0.0  # when it started, seconds into the run


@dataclass
class Plan:
    """What one `up` or `destroy` did, in the order the steps finished."""

    stack: str
    kind: str = "update"  # update | destroy
    steps: list[Step] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, step: Step) -> None:
        with self._lock:
            self.steps.append(step)

    def logical(self) -> list[Step]:
        return [s for s in self.steps if s.op not in ("create-replacement", "delete-replaced")]

    def counts(self) -> dict[str, int]:
        counts = {op: 0 for op in ("same", *COUNTED)}
        for step in self.logical():
            counts[step.op] += 1
        return counts

    def changes(self) -> int:
        return sum(n for op, n in self.counts().items() if op != "same")

    def names(self, *ops: str) -> set[str]:
        """Names of the resources with one of `ops` (logical steps)."""
        return {s.name for s in self.logical() if s.op in ops}

    def changed(self) -> dict[str, str]:
        """name -> op of every logical step that is not `same` (names are unique in this program)."""
        return {s.name: s.op for s in self.logical() if s.op != "same"}

    def phases(self) -> list[tuple[str, float, float]]:
        """(phase, first start, last end) in seconds into the run, by start: a remote command's phase is
        its step (the name's last part: `-docker`, `-join`), any other resource's its name. Where a run's
        time goes."""
        spans: dict[str, list[float]] = {}
        for s in self.steps:
            if s.op != "same":
                phase = s.name.rsplit("-", 1)[-1] if s.type == "command:remote:Command" else s.name
                start, end = spans.setdefault(phase, [s.at, s.at + s.seconds])
                spans[phase] = [min(start, s.at), max(end, s.at + s.seconds)]
        return sorted(((p, a, b) for p, (a, b) in spans.items()), key=lambda span: span[1])

    def render(self) -> str:
        """The steps (same ones left out) and the summary, as `pulumi up` prints them."""
        lines = [f"{'Destroying' if self.kind == 'destroy' else 'Updating'} ({self.stack}):",
                 f"     {'Type':<36} {'Name':<40} Status"]
        for s in self.steps:
            if s.op != "same":
                keys = f" [diff: {', '.join(s.keys)}]" if s.keys else ""
                lines.append(f" {PREFIX[s.op]}  {s.type:<36} {s.name:<40} {PAST[s.op]} ({s.seconds:.0f}s){keys}")
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append("Resources:")
        counts = self.counts()
        for op in COUNTED:
            if counts[op]:
                lines.append(f"    {PREFIX[op]}{counts[op]} {PAST[op]}")
        pieces = []
        if sum(1 for op in COUNTED if counts[op]) >= 2:
            changes = self.changes()
            pieces.append(f"{changes} change{'s' if changes != 1 else ''}")
        if counts["same"]:
            pieces.append(f"{counts['same']} unchanged")
        if pieces:
            lines.append("    " + ". ".join(pieces))
        lines.append(f"\nDuration: {self.seconds:.0f}s")
        return "\n".join(lines)
