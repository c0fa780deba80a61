"""Awake hours as a stage file's `schedule.awake` writes them: `DAYS HH:MM-HH:MM`, in the schedule's time zone.

DAYS is days of mon..sun, ranges of them (a range may wrap round the week: `fri-mon`) and the words `daily`,
`weekdays` (mon-fri) and `weekends` (sat,sun), separated by commas: `mon-fri`, `mon,wed,fri`, `weekends,mon`.
The hours are when the stage is up: from the start on each of those days to the end, on the next day when the
end comes earlier (`22:00-06:00`); `24:00` as the end is midnight. Hours whose start and end are equal never
sleep or never wake, so `parse` refuses them; each problem is an AwakeHoursError saying what is wrong and how
to write it.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday()'s order
MINUTES_PER_DAY = 24 * 60
WORDS = {"daily": frozenset(range(7)), "weekdays": frozenset(range(5)), "weekends": frozenset({5, 6})}
SHAPE = re.compile(r"\s*(?P<days>\S+)\s+(?P<start>\S+?)\s*-\s*(?P<end>\S+)\s*")
TIME = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})")
EXAMPLE = ("DAYS HH:MM-HH:MM, e.g. 'mon-fri 07:00-20:00' (DAYS: daily, weekdays, weekends, or days such as "
           "mon,wed,fri or mon-fri)")


class AwakeHoursError(ValueError):
    """The text is not awake hours; the message says why and how to write them."""


@dataclass(frozen=True)
class AwakeHours:
    days: frozenset[int]  # the days the stage wakes, by datetime.weekday(): 0 Monday .. 6 Sunday
    start: int  # minutes after midnight, local time
    end: int  # minutes after midnight; at or before `start`: on the next day

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    @property
    def minutes_a_day(self) -> int:
        """How long the stage is up on each of its days."""
        return (self.end - self.start) % MINUTES_PER_DAY

    @property
    def minutes_a_week(self) -> int:
        return len(self.days) * self.minutes_a_day

    @property
    def sleep_days(self) -> frozenset[int]:
        """The days the stage goes to sleep: its days, or the days after them for overnight hours."""
        return frozenset((day + 1) % 7 for day in self.days) if self.overnight else self.days

    def awake_at(self, local: datetime) -> bool:
        """Whether the stage is up at `local`, a time in the schedule's time zone."""
        minute, day = local.hour * 60 + local.minute, local.weekday()
        if not self.overnight:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)


def parse(text: str) -> AwakeHours:
    """The awake hours `text` writes; AwakeHoursError (what is wrong, how to write it) otherwise."""
    match = SHAPE.fullmatch(text)
    if not match:
        raise AwakeHoursError(f"must read {EXAMPLE}")
    days = _days(match["days"].lower())
    start, end = _minute(match["start"], end=False), _minute(match["end"], end=True)
    if start == end:
        raise AwakeHoursError(f"starts and ends at {match['start']}: such hours never sleep or never wake; give the "
                              "hours the stage is up, e.g. 07:00-20:00, or leave schedule out to keep it up")
    return AwakeHours(days, start, end)


def _days(text: str) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        if part in WORDS:
            found.update(WORDS[part])
            continue
        bounds = part.split("-")
        if not part or len(bounds) > 2:
            raise AwakeHoursError(f"days {text!r}: {part!r} is not a day or a range of days; {EXAMPLE}")
        first, last = (_day(bound) for bound in (bounds[0], bounds[-1]))
        found.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(found)


def _day(word: str) -> int:
    if word in DAY_NAMES:
        return DAY_NAMES.index(word)
    close = difflib.get_close_matches(word, [*DAY_NAMES, *WORDS], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise AwakeHoursError(f"{word!r} is not a day{hint}: use mon, tue, wed, thu, fri, sat, sun, or daily, weekdays, "
                          "weekends")


def _minute(text: str, end: bool) -> int:
    """Minutes after midnight of HH:MM; 24:00 only as the end (midnight, 0)."""
    match = TIME.fullmatch(text)
    hour, minute = (int(match["hour"]), int(match["minute"])) if match else (-1, -1)
    if end and (hour, minute) == (24, 0):
        return 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise AwakeHoursError(f"{text!r} is not a time of day: write HH:MM from 00:00 to 23:59 (24:00 as the end "
                              "is midnight)")
    return hour * 60 + minute
