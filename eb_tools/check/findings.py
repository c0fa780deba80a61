"""The one shape every check reports: where, which rule, what is wrong, how to fix it.

A rule carries its metadata as cfn-lint's rules do: an id, a short description and
the URL of the documentation it enforces. The id's first letter is the severity:
E (error: the check fails), W (warning: worth a look, never fails the check),
N (notice: something was not checked).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "notice"]
SEVERITIES: dict[str, Severity] = {"E": "error", "W": "warning", "N": "notice"}
GUIDE = "https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/"


@dataclass(frozen=True, order=True)
class Rule:
    id: str
    shortdesc: str
    source_url: str

    def __post_init__(self) -> None:
        if self.id[:1] not in SEVERITIES:
            raise ValueError(f"rule id {self.id!r} must start with one of {', '.join(SEVERITIES)}")

    @property
    def severity(self) -> Severity:
        return SEVERITIES[self.id[0]]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int | None
    rule: Rule
    message: str
    fix: str = ""

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def fails(self) -> bool:
        """Whether this finding fails `check` (and refuses `deploy`): errors only."""
        return self.severity == "error"

    def as_text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.rule.id} {self.message}.{fix}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "rule": self.rule.id, "severity": self.severity,
                "message": self.message, "fix": self.fix, "shortdesc": self.rule.shortdesc,
                "source_url": self.rule.source_url}
