"""One row of the faults table: what a scenario measured, against what it promises."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    scenario: str  # e.g. "worker: SIGKILLs"
    measure: str  # e.g. "lost messages"
    value: str  # what this run measured, formatted for the table
    goal: str  # what the design promises, e.g. "0"
    ok: bool  # whether the value meets the goal

    def line(self) -> str:
        verdict = "ok" if self.ok else "MISSED"
        return f"{self.scenario:<28} {self.measure:<44} {self.value:>14} {self.goal:>12}  {verdict}"


def failures(rows: list[Row]) -> list[str]:
    """The rows that missed their goal, as lines for an assertion message."""
    return [row.line() for row in rows if not row.ok]
