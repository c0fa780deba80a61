"""A stage's off-hours as Elastic Beanstalk scheduled actions (aws:autoscaling:scheduledaction) on each tier.

EB's Recurrence is a cron in UTC with no time zone (EB guide, "Scheduled Auto Scaling actions": `30 6 * * 2`
runs the action every Tuesday at 6:30 AM UTC), so awake hours in a named time zone become a pair of actions
per window of one UTC offset: a "wake" at their start (the tier's min and max, desired at min) and a "sleep" at
their end (0, 0, 0), each a cron of that offset's UTC times, its days of week shifted where the offset moves
the time over midnight. The windows run from the zone's last offset change before now to the first change
more than HORIZON ahead. Each action starts at its first run in its window (StartTime; none in the window
already begun: Auto Scaling refuses a start time in the past, "Given start time is in the past") and ends
with the window (EndTime, the wake's a minute earlier: EB wants every start and end time unique across an
environment's actions, EB guide, aws:autoscaling:scheduledaction). Names carry the window's first day
(`wake-20261025`), so provisioning again changes nothing until the next window begins. A zone whose offset
does not change within a year either way gets one pair, without StartTime or EndTime.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eb_tools.formats import cron, scheduled_actions
from eb_tools.formats.awake_hours import MINUTES_PER_DAY, AwakeHours
from eb_tools.formats.option_schema import join_resource, split_resource
from eb_tools.formats.scheduled_actions import NAMESPACE, ScheduledAction, iso, timestamp
from eb_tools.stage_file import Schedule, Stage

Setting = tuple[str, str, str]  # namespace (with its resource: join_resource), option, value
HORIZON = timedelta(days=365)  # windows are planned this far ahead; provision again within it
SEARCH = timedelta(days=400)  # how far past the horizon (and back from now) offset changes are looked for
MINUTE = timedelta(minutes=1)
WEEK = 7 * MINUTES_PER_DAY
OWNED = re.compile(r"(wake|sleep)(-\d{8})?")  # the schedule's actions, which provision keeps as planned
WAKE_NOW, SLEEP_AFTER_WAKE = "wake-now", "sleep-after-wake"  # `eb_tools wake`'s one-time actions


@dataclass(frozen=True)
class Window:
    """A stretch of one UTC offset: from the change that began it to the next (None: none found)."""

    start: datetime | None
    end: datetime | None
    offset: timedelta

    @property
    def suffix(self) -> str:
        return f"-{self.start:%Y%m%d}" if self.start is not None else ""


def offset_windows(zone: ZoneInfo, now: datetime, horizon: timedelta = HORIZON) -> list[Window]:
    """The zone's windows from the one `now` is in to the last that begins within `horizon`."""
    changes = _changes(zone, now - SEARCH, now + horizon + SEARCH)
    past = [change for change in changes if change <= now]
    starts: list[datetime | None] = [past[-1] if past else None]
    starts += [change for change in changes if now < change < now + horizon]
    windows = []
    for start in starts:
        later = [change for change in changes if start is None or change > start]
        anchor = start or now
        windows.append(Window(start, later[0] if later else None, anchor.astimezone(zone).utcoffset() or timedelta()))
        if not later:
            break
    return windows


def _changes(zone: ZoneInfo, begin: datetime, end: datetime) -> list[datetime]:
    """The instants the zone's UTC offset changes between `begin` and `end`: a day at a time, then halved down to
    the second (offsets change at most a few times a year)."""
    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(zone).utcoffset()

    found, moment = [], begin
    while moment < end:
        following = moment + timedelta(days=1)
        if offset(following) != offset(moment):
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == offset(low) else (low, middle)
            found.append(high.replace(microsecond=0))
        moment = following
    return found


def recurrence(days: frozenset[int], minute: int, offset: timedelta) -> str:
    """The UTC cron of local `minute` (after midnight) on local `days` (0 Monday) at UTC `offset`: the days
    shifted where the time crosses midnight in UTC."""
    shift = int(offset.total_seconds() // 60)
    utc = sorted({(day * MINUTES_PER_DAY + minute - shift) % WEEK for day in days})
    at = utc[0] % MINUTES_PER_DAY
    weekdays = sorted({(moment // MINUTES_PER_DAY + 1) % 7 for moment in utc})  # cron counts from Sunday
    return f"{at % 60} {at // 60} * * {'*' if len(weekdays) == 7 else _ranges(weekdays)}"


def _ranges(numbers: list[int]) -> str:
    """1,2,3,5 as cron writes it: 1-3,5."""
    parts: list[list[int]] = []
    for number in numbers:
        if parts and number == parts[-1][-1] + 1:
            parts[-1].append(number)
        else:
            parts.append([number])
    return ",".join(f"{p[0]}-{p[-1]}" if len(p) > 2 else ",".join(map(str, p)) for p in parts)


@dataclass(frozen=True)
class Sizes:
    min: int
    max: int
    desired: int


ASLEEP = Sizes(0, 0, 0)


def planned(schedule: Schedule, awake: Sizes, now: datetime) -> list[ScheduledAction]:
    """The tier's wake and sleep actions, window by window (see the module docstring)."""
    hours: AwakeHours = schedule.hours
    actions: list[ScheduledAction] = []
    for window in offset_windows(schedule.zone, now):
        for kind, sizes, days, minute, early in (("wake", awake, hours.days, hours.start, MINUTE),
                                                 ("sleep", ASLEEP, hours.sleep_days, hours.end, timedelta())):
            expression = recurrence(days, minute, window.offset)
            schedule_of = cron.Schedule.parse(expression)
            begin, finish = window.start or now - timedelta(days=8), window.end or now + HORIZON
            first = schedule_of.first(begin, finish)
            if first is None:
                continue  # a window too short to hold a run of this action
            start = first if window.start is not None and window.start > now else None
            end = window.end - early if window.end is not None else None
            actions.append(ScheduledAction(f"{kind}{window.suffix}", sizes.min, sizes.max, sizes.desired, start,
                                           end, schedule_of))
    return actions


def settings(actions: list[ScheduledAction]) -> list[Setting]:
    """The option settings of `actions`, each keyed by its resource (join_resource)."""
    found: list[Setting] = []
    for action in actions:
        key = join_resource(NAMESPACE, action.name)
        found += [(key, "MinSize", str(action.min_size)), (key, "MaxSize", str(action.max_size)),
                  (key, "DesiredCapacity", str(action.desired))]
        found += [(key, "Recurrence", action.recurrence.expression)] if action.recurrence is not None else []
        found += [(key, "StartTime", iso(action.start))] if action.start is not None else []
        found += [(key, "EndTime", iso(action.end))] if action.end is not None else []
    return found


def tier_settings(stage: Stage, tier: str, now: datetime | None = None) -> list[Setting]:
    """What `provision` sets for the stage's schedule on `tier` (nothing without a schedule)."""
    if stage.schedule is None:
        return []
    spec = stage.web if tier == "web" else stage.worker
    return settings(planned(stage.schedule, Sizes(spec.min, spec.max, spec.min), now or datetime.now(UTC)))


def stale(current: Mapping[tuple[str, str], str], desired: list[Setting], now: datetime) -> list[tuple[str, str]]:
    """The live settings of eb_tools' scheduled actions that `provision` removes: the schedule's no longer
    planned (a window gone by, a schedule taken out), and `wake`'s once they have run."""
    wanted = {(namespace, option) for namespace, option, _ in desired}
    found = []
    for namespace, option in current:
        kind, resource = split_resource(namespace)
        if kind != NAMESPACE or resource is None or (namespace, option) in wanted:
            continue
        ran = (timestamp(current.get((namespace, "StartTime"))) or now) < now
        if OWNED.fullmatch(resource) or (resource in (WAKE_NOW, SLEEP_AFTER_WAKE) and ran):
            found.append((namespace, option))
    return found


def awake_now(schedule: Schedule, now: datetime) -> bool:
    """Whether the schedule's hours say the stage is up at `now`."""
    return schedule.hours.awake_at(now.astimezone(schedule.zone))


LOOK = timedelta(days=8)  # how far back and ahead a weekly schedule's last and next action are looked for
EXTEND_WITHIN = timedelta(days=60)  # `status` warns when the schedule's last window ends this soon


def live_state(current: Mapping[tuple[str, str], str], now: datetime) -> dict[str, Any] | None:
    """What an environment's scheduled actions (`current`, its settings) did last and do next, and when the
    schedule's last window ends; None when it has none."""
    actions = scheduled_actions.read(current)
    if not actions:
        return None
    last = scheduled_actions.last_due(actions, now, now - LOOK)
    upcoming = scheduled_actions.next_due(actions, now, now + LOOK)
    ends = [a.end for a in actions if OWNED.fullmatch(a.name) and a.recurrence is not None and a.end is not None]
    return {"asleep": last[1].asleep if last else None, "since": iso(last[0]) if last else None,
            "by": last[1].name if last else None,
            "next": {"at": iso(upcoming[0]), "action": upcoming[1].name, "asleep": upcoming[1].asleep}
            if upcoming else None,
            "schedule_ends": iso(max(ends)) if ends else None}


def extend_warning(ends: str | None, now: datetime, stage: str) -> str | None:
    """Status's warning when the schedule's last planned window ends within EXTEND_WITHIN."""
    end = timestamp(ends)
    if end is None or end - now > EXTEND_WITHIN:
        return None
    return (f"the schedule's last planned window ends {end:%Y-%m-%d %H:%M} UTC: run eb_tools provision {stage} to "
            "extend the schedule")
