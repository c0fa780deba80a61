"""One difference `eb_tools diff` reports, and how its values are shown: a secret's value never.

A property's or option's value is a secret when its name says so (a password, token, key...), unless it is an
ARN (DB_SECRET_ARN names a secret, it holds none); environmentsecrets hold only ARNs, and are shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|APIKEY", re.IGNORECASE)
HIDDEN = "(secret, not shown)"
NOT_SET = "(not set)"


@dataclass(frozen=True)
class Difference:
    tier: str  # web | worker | "stack NAME"
    kind: str  # option | property | secret | platform | version | bundle | cron | drift
    name: str
    left: str | None  # SRC's value, or (one stage) what runs; None: not set
    right: str | None  # DST's value, or (one stage) what it should be; None: not set
    explained: bool = False
    why: str = ""  # one stage: where the expected value comes from

    def shown(self, value: str | None) -> str:
        """A value as printed: a secret's never."""
        if value is None:
            return NOT_SET
        secret = self.kind != "secret" and SECRET_NAME.search(self.name.rsplit(" ", 1)[-1])
        return HIDDEN if secret and not value.startswith("arn:") else value

    def line(self, left: str, right: str) -> str:
        """One line: what differs, and both values."""
        why = f" ({self.why})" if self.why else ""
        return (f"{self.tier} {self.kind} {self.name}: {self.shown(self.left)} on {left}, "
                f"{self.shown(self.right)} on {right}{why}")

    def as_dict(self, left: str, right: str) -> dict[str, Any]:
        return {"tier": self.tier, "kind": self.kind, "name": self.name, left: self.shown(self.left),
                right: self.shown(self.right), **({"expected_from": self.why} if self.why else {})}
