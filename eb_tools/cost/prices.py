"""The shipped price table (prices.json): on-demand USD prices per region, dated, with their source.

A price the table lacks is a PriceMissing of one line naming the region, the resource and how to refresh the
table, never a silent 0: an estimate that quietly leaves out a database is worse than none.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eb_tools.errors import PriceMissing

TABLE = Path(__file__).with_name("prices.json")
REFRESH = "scripts/refresh_prices.py"


@dataclass(frozen=True)
class Prices:
    """One region's prices, and the table's date and source for the report."""

    region: str
    date: str
    source: str
    values: dict[str, Any]

    def get(self, key: str, *names: str) -> float:
        """A price: `key` alone ("alb_hour"), or narrowed by names ("ec2_hour", "t3.small")."""
        value: Any = self.values.get(key)
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        if not isinstance(value, int | float):
            what = " ".join((key, *names))
            raise PriceMissing(f"{TABLE.name} (dated {self.date}) has no price for {what} in {self.region}; "
                               f"run {REFRESH} --region {self.region} (it needs pricing:GetProducts) and commit "
                               "the table, or pick a priced type")
        return float(value)


def load(region: str, table: Path = TABLE) -> Prices:
    """The prices of `region`, or PriceMissing naming the regions the table has."""
    data = json.loads(table.read_text(encoding="utf-8"))
    regions = data["regions"]
    if region not in regions:
        raise PriceMissing(f"{table.name} (dated {data['date']}) has no prices for region {region} (it has "
                           f"{', '.join(sorted(regions))}); run {REFRESH} --region {region} (it needs "
                           "pricing:GetProducts) and commit the table")
    return Prices(region, data["date"], data["source"], regions[region])
