"""One change a stack's change set would make, and the table provision's plan shows them in."""
from __future__ import annotations

from dataclasses import dataclass

from eb_tools.stage.tables import table


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


def change_table(changes: list[Change]) -> list[str]:
    return table(((c.action, c.resource, c.type, c.replacement or "-", c.flag) for c in changes),
                 ("action", "resource", "type", "replacement", ""))
