"""Five-field cron expressions, as cron.yaml and EB's scheduled actions use them: parsed once, checked, matched.

Shared by `eb_tools check` (is the schedule valid?), the local cloud's cron
emulator (is it due this minute?) and its scheduled actions, and `eb_tools`'s
off-hours (when does an action first and last run within a stretch of time?).
Fields: minute hour day-of-month month day-of-week; `*`, numbers, names
(JAN-DEC, SUN-SAT), ranges, lists, `/step`. As in cron, when both day fields are
restricted a day matching either is due.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (label, low, high, names)
FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(DAYS)}),
]
PART = re.compile(r"^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d+))?$")


class CronError(ValueError):
    """The expression is not valid; the message says which field and why."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    expression: str = field(default="", compare=False)  # as written, for people to read

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        fields = expression.split()
        if len(fields) != 5:
            raise CronError(f"has {len(fields)} fields, not 5")
        values = [_field(text, *spec) for text, spec in zip(fields, FIELDS, strict=True)]
        weekdays = frozenset(day % 7 for day in values[4])  # 7 is Sunday too
        return cls(values[0], values[1], values[2], values[3], weekdays,
                   fields[2] != "*", fields[4] != "*", " ".join(fields))

    def matches(self, when: datetime) -> bool:
        if when.minute not in self.minutes or when.hour not in self.hours:
            return False
        return self._day_matches(when.date())

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        day_ok = day.day in self.days
        weekday_ok = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def _times(self, day: date, like: datetime) -> list[datetime]:
        """The day's due minutes, in order, in `like`'s time zone."""
        if not self._day_matches(day):
            return []
        return [datetime(day.year, day.month, day.day, hour, minute, tzinfo=like.tzinfo)
                for hour in sorted(self.hours) for minute in sorted(self.minutes)]

    def first(self, since: datetime, before: datetime) -> datetime | None:
        """The first due minute at or after `since` and before `before` (None: none), a day at a time."""
        day = since.date()
        while day <= before.date():
            for moment in self._times(day, since):
                if moment >= before:
                    return None
                if moment >= since:
                    return moment
            day += timedelta(days=1)
        return None

    def last(self, until: datetime, after: datetime) -> datetime | None:
        """The last due minute at or before `until` and after `after` (None: none), a day at a time."""
        day = until.date()
        while day >= after.date():
            for moment in reversed(self._times(day, until)):
                if moment <= after:
                    return None
                if moment <= until:
                    return moment
            day -= timedelta(days=1)
        return None


def _field(text: str, label: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        match = PART.match(part)
        if not match:
            raise CronError(f"{label} field {text!r} is not valid")
        base, step_text = match.groups()
        step = int(step_text) if step_text is not None else 1
        if step == 0:
            raise CronError(f"{label} step must be at least 1")
        if base == "*":
            start, end = low, high
        else:
            bounds = [_value(bound, label, low, high, names) for bound in base.split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise CronError(f"{label} range {base!r} runs backwards")
            start = bounds[0]
            # "5" is just 5; "5/15" runs from 5 to the end; "5-20/5" within the range
            end = bounds[1] if len(bounds) == 2 else (high if step_text else start)
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, label: str, low: int, high: int, names: dict[str, int]) -> int:
    value = int(text) if text.isdigit() else names.get(text.upper())
    if value is None or not low <= value <= high:
        raise CronError(f"{label} value {text!r} is out of range {low}-{high}")
    return value
