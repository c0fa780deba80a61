"""`status`'s view of a stage's off-hours: per tier, whether its scheduled actions have it awake or asleep (the
last one that ran, a wake's included) and what the next one does; a warning when the schedule's last planned
window ends within 60 days (provision plans a year ahead: stage/schedule.py), or when the stage file has a
schedule its environments lack. Read from each environment's settings; None for a stage with neither."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from eb_tools.formats.scheduled_actions import timestamp
from eb_tools.release.execute import Echo
from eb_tools.stage import ebenv, schedule
from eb_tools.stage.target import StageTarget


def read(where: StageTarget, eb: Any, environments: dict[str, str],
         now: datetime | None = None) -> dict[str, Any] | None:
    """The stage's schedule as its environments hold it (`environments`: tier -> name), JSON-ready."""
    moment = now or datetime.now(UTC)
    spec = where.stage.schedule
    tiers = {tier: schedule.live_state(ebenv.settings(eb, where.application, name), moment)
             for tier, name in environments.items()}
    if spec is None and not any(tiers.values()):
        return None
    ends = [state["schedule_ends"] for state in tiers.values() if state and state["schedule_ends"]]
    warning = schedule.extend_warning(min(ends), moment, where.name) if ends else None
    if spec is not None and not all(tiers.values()):
        warning = f"the stage file's schedule is not on its environments: run eb_tools provision {where.name}"
    return {"awake": spec.awake if spec else None, "time_zone": spec.time_zone if spec else None,
            "awake_by_hours": schedule.awake_now(spec, moment) if spec else None, "tiers": tiers,
            "warning": warning}


def asleep(report: dict[str, Any] | None, tier: str) -> bool:
    """Whether the tier's last scheduled action put it to sleep."""
    state = (report or {}).get("tiers", {}).get(tier)
    return bool(state and state["asleep"])


def render(report: dict[str, Any] | None, echo: Echo) -> None:
    if report is None:
        return
    zone = ZoneInfo(report["time_zone"] or "UTC")
    hours = f"awake {report['awake']} ({report['time_zone']})" if report["awake"] else "no schedule in the stage file"
    echo(f"  schedule: {hours}")
    for tier, state in report["tiers"].items():
        if state is None:
            echo(f"    {tier:<6} no scheduled actions")
            continue
        now = "asleep" if state["asleep"] else "awake" if state["asleep"] is not None else "as its size says"
        since = f" since {_local(state['since'], zone)} ({state['by']})" if state["since"] else " (no action ran yet)"
        upcoming = state["next"]
        later = f"; {'asleep' if upcoming['asleep'] else 'awake'} from {_local(upcoming['at'], zone)} " \
                f"({upcoming['action']})" if upcoming else ""
        echo(f"    {tier:<6} {now}{since}{later}")
    if report["warning"]:
        echo(f"    warning: {report['warning']}")


def _local(text: str, zone: ZoneInfo) -> str:
    moment = timestamp(text)
    return f"{moment.astimezone(zone):%a %Y-%m-%d %H:%M %Z}" if moment else text
