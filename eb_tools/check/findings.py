"""The one shape every check reports: where, which rule, what is wrong, how to fix it."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int | None
    rule: str
    message: str
    fix: str = ""
    severity: str = "error"  # error | notice (a notice never fails the check)

    def as_text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.rule} {self.message}.{fix}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
