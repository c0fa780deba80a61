"""How an estimate is shown: the `cost` table with its totals, assumptions and price source, and the one line
`status` gives each stage (which must never fail `status`: a missing price is said on that line)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cost.estimate import Estimate, Item, estimate
from eb_tools.cost.saving import KEEP_RUNNING, Saving
from eb_tools.errors import EbToolsError
from eb_tools.stage.tables import table
from eb_tools.stage_file import StageFile

HEADER = ("resource", "quantity", "unit price", "monthly at min", "at max", "")


def render(result: Estimate, echo: Callable[[str], None]) -> None:
    echo(f"stage {result.stage} ({result.region}): monthly estimate in USD, on-demand prices")
    low, high = result.total
    rows = [_row(item) for item in result.items]
    rows.append(("total", "", "", _money(low), _money(high), ""))
    for line in table(rows, HEADER):
        echo(f"  {line}")
    if result.saving is not None:
        _render_saving(result.saving, echo)
    assumed = ", ".join(f"{name} {_number(value)}" for name, value in result.assumptions.as_dict().items())
    echo(f"assumptions: {assumed}")
    echo(f"prices: dated {result.prices.date}; {result.prices.source}")


def _render_saving(saved: Saving, echo: Callable[[str], None]) -> None:
    awake, asleep = saved.instance_hours
    echo(f"schedule: awake {saved.awake}, {saved.awake_share:.0%} of the week: at min {_number(round(awake))} "
         f"instance hours a month awake, {_number(round(asleep))} asleep")
    echo(f"  saves {_money(saved.monthly[0])}/month at min, {_money(saved.monthly[1])} at max: with the schedule "
         f"{_money(saved.total[0])} at min, {_money(saved.total[1])} at max")
    echo(f"  only the instances sleep: {KEEP_RUNNING}")


def _row(item: Item) -> tuple[str, ...]:
    low, high = item.count
    count = _number(low) if low == high else f"{_number(low)}-{_number(high)}"
    usage = f" × {_number(item.usage)} {item.unit}" if item.unit != "month" else ""
    return (item.resource, f"{count}{usage}", _price(item.price, item.unit), _money(item.monthly[0]),
            _money(item.monthly[1]), item.note)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,g}"


def _price(price: float, unit: str) -> str:
    """Per-request prices read as AWS's pages give them: per million."""
    return f"${price * 1_000_000:.4g}/million {unit}s" if price < 0.001 else f"${price:.4g}/{unit}"


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


def brief(file: StageFile, name: str) -> dict[str, Any]:
    """`status`'s view of a stage's estimate: the totals and its line, or the reason there is none."""
    try:
        result = estimate(file, name)
    except EbToolsError as error:
        return {"error": str(error), "line": f"cost: no estimate: {error}"}
    low, high = result.total
    scheduled = f"; with its schedule {_money(result.saving.total[0])} at min" if result.saving else ""
    return {"min": round(low, 2), "max": round(high, 2), "currency": "USD", "prices_date": result.prices.date,
            **({"with_schedule": result.saving.as_dict()["with_schedule"]} if result.saving else {}),
            "line": f"cost: about {_money(low)}/month at min, {_money(high)} at max{scheduled} (eb_tools cost {name})"}
