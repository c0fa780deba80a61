"""The one shape of a problem any parser here finds: where, what kind (each format names its kinds), what is
wrong, how to fix it. `check` makes a finding of it, the emulated cloud a refusal."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=str)


@dataclass(frozen=True)
class Problem(Generic[K]):
    line: int | None
    kind: K
    message: str
    fix: str
