"""The shape of a provisioning plan, shown to the user before anything changes.

A plan is built from read-only calls (chalice's deployer model): what each stack's
change set would add, modify or remove, and which settings each Elastic Beanstalk
environment would get. `render` prints it as tables; the executor runs it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ProvisionError(Exception):
    """One line: what failed, where, and how to fix it."""


@dataclass(frozen=True)
class Change:
    action: str  # Add | Modify | Remove
    resource: str  # logical id, or an EB environment's name
    type: str
    replacement: str = ""  # True | False | Conditional, as CloudFormation says; "" for adds and removes
    data: bool = False  # a data store: replacing it starts it empty

    @property
    def replaces_data(self) -> bool:
        return self.data and self.replacement == "True"

    @property
    def flag(self) -> str:
        if self.replaces_data:
            return "REPLACES DATA"
        if self.data and self.replacement == "Conditional":
            return "may replace data (depends on the values: read the resource's update behaviour)"
        return "replaced" if self.replacement == "True" else ""


def table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Fixed-width columns, header first."""
    rows = [header, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def change_table(changes: list[Change]) -> list[str]:
    return table(((c.action, c.resource, c.type, c.replacement or "-", c.flag) for c in changes),
                 ("action", "resource", "type", "replacement", ""))
