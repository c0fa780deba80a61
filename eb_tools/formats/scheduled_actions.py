"""Elastic Beanstalk's scheduled actions (aws:autoscaling:scheduledaction) as an environment's option settings
hold them: each resource's sizes, its one time or its recurrence, and when it runs.

A setting of a resource is keyed `RESOURCE.aws:autoscaling:scheduledaction` (the shorthand EB's configuration
files write a resource name in: option_schema.join_resource). Shared by the local cloud, which applies each
action when it is due, and `eb_tools status` and `wake`, which say what the last one that ran did and what
the next will do. When an action runs (Auto Scaling API reference, PutScheduledUpdateGroupAction): without a
Recurrence, once at StartTime; with one, "at this time, and then ... based on the specified recurrence", a
cron in UTC, until EndTime. A suspended action (EB's Suspend) does not run.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eb_tools.formats import cron
from eb_tools.formats.option_schema import split_resource

NAMESPACE = "aws:autoscaling:scheduledaction"
SIZES = ("MinSize", "MaxSize", "DesiredCapacity")
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class ScheduledAction:
    name: str
    min_size: int | None
    max_size: int | None
    desired: int | None
    start: datetime | None
    end: datetime | None
    recurrence: cron.Schedule | None
    suspended: bool = False

    @property
    def asleep(self) -> bool:
        """Whether it takes the group to no instance."""
        return self.max_size == 0 or self.desired == 0

    def last_run(self, until: datetime, after: datetime) -> datetime | None:
        """When it last ran after `after` and at or before `until` (None: it did not)."""
        if self.suspended:
            return None
        runs = [self.start] if self.start is not None and after < self.start <= until else []
        if self.recurrence is not None:
            low = max(after, self.start) if self.start is not None else after
            high = min(until, self.end) if self.end is not None else until
            found = self.recurrence.last(high, low) if high > low else None
            runs += [found] if found is not None else []
        return max(runs, default=None)

    def next_run(self, since: datetime, before: datetime) -> datetime | None:
        """When it runs next at or after `since` and before `before` (None: not within them)."""
        if self.suspended:
            return None
        runs = [self.start] if self.start is not None and since <= self.start < before else []
        if self.recurrence is not None:
            low = max(since, self.start) if self.start is not None else since
            high = min(before, self.end + MINUTE) if self.end is not None else before
            found = self.recurrence.first(low, high) if high > low else None
            runs += [found] if found is not None else []
        return min(runs, default=None)


def read(settings: Mapping[tuple[str, str], object]) -> list[ScheduledAction]:
    """The scheduled actions among an environment's settings ({(namespace, option): value}), by name; an
    action whose recurrence is not a cron expression is left out (EB refuses it)."""
    by_name: dict[str, dict[str, str]] = {}
    for (key, option), value in settings.items():
        namespace, resource = split_resource(key)
        if namespace == NAMESPACE and resource is not None and value is not None:
            by_name.setdefault(resource, {})[option] = str(value)
    found = []
    for name, options in sorted(by_name.items()):
        try:
            recurrence = cron.Schedule.parse(options["Recurrence"]) if options.get("Recurrence") else None
        except cron.CronError:
            continue
        low, high, desired = (_number(options.get(option)) for option in SIZES)
        found.append(ScheduledAction(name, low, high, desired, timestamp(options.get("StartTime")),
                                     timestamp(options.get("EndTime")), recurrence,
                                     options.get("Suspend", "").lower() == "true"))
    return found


def last_due(actions: Iterable[ScheduledAction], until: datetime,
             after: datetime) -> tuple[datetime, ScheduledAction] | None:
    """The action that ran last after `after` and at or before `until`, and when (None: none ran)."""
    runs = [(when, action) for action in actions if (when := action.last_run(until, after)) is not None]
    return max(runs, key=lambda run: (run[0], run[1].name), default=None)


def next_due(actions: Iterable[ScheduledAction], since: datetime,
             before: datetime) -> tuple[datetime, ScheduledAction] | None:
    """The action that runs next at or after `since` and before `before`, and when (None: none does)."""
    runs = [(when, action) for action in actions if (when := action.next_run(since, before)) is not None]
    return min(runs, key=lambda run: (run[0], run[1].name), default=None)


def timestamp(text: str | None) -> datetime | None:
    """An ISO 8601 time (EB's StartTime and EndTime, in UTC: '2015-04-28T04:07:02Z'); None when unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """A time as EB's StartTime and EndTime take it: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
