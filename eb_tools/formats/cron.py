"""Five-field cron expressions, as cron.yaml uses them: parsed once, checked, matched.

Shared by `eb_tools check` (is the schedule valid?) and the local cloud's cron
emulator (is it due this minute?). Fields: minute hour day-of-month month
day-of-week; `*`, numbers, names (JAN-DEC, SUN-SAT), ranges, lists, `/step`.
As in cron, when both day fields are restricted a day matching either is due.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

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
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


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
