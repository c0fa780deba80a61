"""`eb_tools wake STAGE [--for 2h]`: a stage asleep by its schedule, both tiers up now.

Each tier's environment gets a one-time scheduled action, `wake-now` (overwritten by each wake), at the tier's
min and max, desired at min, starting LEAD ahead: Auto Scaling refuses a start time in the past ("Given start
time is in the past", API reference PutScheduledUpdateGroupAction), and EB's configuration update takes a while
to reach the group. With `--for`, a one-time `sleep-after-wake` at that time puts the stage back to sleep,
unless the time falls inside the awake hours: then the schedule's own sleep takes over (and the pending
`sleep-after-wake` of an earlier wake goes). The plan is read-only; executing updates both environments at
once, follows their events, and waits until both tiers have instances in service (Ready, Green, the tier's min
instances Ok, each on the environment's label), with progress. `provision` removes the two actions once they have run.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eb_tools.aws import Progress, wait_until
from eb_tools.errors import OperationFailed, ReleaseError, WaitTimeout
from eb_tools.formats import scheduled_actions
from eb_tools.formats.option_schema import join_resource
from eb_tools.formats.scheduled_actions import NAMESPACE, ScheduledAction, iso
from eb_tools.release import tier_state
from eb_tools.release.tier_state import TierState
from eb_tools.stage import ebenv, runner, schedule
from eb_tools.stage.runner import Echo
from eb_tools.stage.schedule import SLEEP_AFTER_WAKE, WAKE_NOW, Setting
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget
from eb_tools.stage_file import Schedule, WebTier, WorkerTier

LEAD = timedelta(minutes=2)  # wake-now starts this far ahead (the next whole minute after it)
SHORTEST, LONGEST = timedelta(minutes=10), timedelta(days=7)  # what --for takes
DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
Clock = Callable[[], datetime]
Tier = WebTier | WorkerTier


def duration(text: str) -> timedelta:
    """--for's value: days, hours and minutes, e.g. 2h, 90m, 1h30m, 1d; one line when it is none of those."""
    match = DURATION.fullmatch(text.strip().lower())
    if not text.strip() or not match:
        raise ReleaseError(f"--for {text}: give a duration such as 2h, 90m, 1h30m or 1d")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes)
    if not SHORTEST <= length <= LONGEST:
        raise ReleaseError(f"--for {text}: give between 10m and 7d (the tiers take minutes to come up)")
    return length


@dataclass
class WakePlan:
    where: StageTarget
    environments: dict[str, str]  # tier -> environment
    before: dict[str, TierState]
    start: datetime  # when wake-now runs
    sleep_at: datetime | None  # when sleep-after-wake runs (None: the schedule's sleep takes over)
    notes: list[str]
    changes: dict[str, list[Setting]] = field(default_factory=dict)  # environment -> settings
    removed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # environment -> settings removed

    @property
    def empty(self) -> bool:
        """Awake already: every tier has instances in service."""
        return all(in_service(state, _spec(self.where, tier).min) for tier, state in self.before.items())

    def report(self, dry_run: bool, after: dict[str, TierState] | None = None) -> dict[str, Any]:
        return {"stage": self.where.name, "dry_run": dry_run, "awake_already": self.empty,
                "start_time": iso(self.start), "sleep_at": iso(self.sleep_at) if self.sleep_at else None,
                "notes": self.notes,
                "tiers": {tier: {"environment": name, "before": _summary(self.before[tier]),
                                 **({"after": _summary(after[tier])} if after else {})}
                          for tier, name in self.environments.items()}}


def wake(where: StageTarget, echo: Echo, *, for_: timedelta | None = None, dry_run: bool = False,
         timeout: float = 1800.0, clock: Clock | None = None) -> dict[str, Any]:
    """Wake the stage through the stage runner (plan, show, execute, wait); what it reports, as JSON-ready data.
    `clock`: the time it is (a test's cloud may judge its schedule by a faster one)."""
    schedule_of = where.stage.schedule
    if schedule_of is None:
        raise ReleaseError(f"{where.stage.source}: stages.{where.name}: no schedule: the stage never sleeps, so "
                           "there is nothing to wake (see schedule in the README)")
    now = clock or (lambda: datetime.now(UTC))
    op = runner.Operation(where, f"wake {where.name}", plan=lambda _dry: plan(where, schedule_of, for_, now()),
                          render=render, execute=lambda ready: _execute(ready, echo, timeout),
                          unchanged=lambda ready: ready.report(dry_run), empty_note="awake already: nothing to wake")
    result: dict[str, Any] = runner.carry_out(op, echo, dry_run=dry_run)
    return result


def plan(where: StageTarget, schedule_of: Schedule, for_: timedelta | None, now: datetime) -> WakePlan:
    """Read-only: each tier's state, the wake's start, and when (or whether) it goes back to sleep."""
    eb = where.client("elasticbeanstalk")
    environments = where.live()
    before = tier_state.read(eb, where.application, environments, causes=True)
    missing = [state.environment for state in before.values() if not state.exists]
    if missing:
        raise ReleaseError(f"stage {where.name} is not provisioned (environment {missing[0]} does not exist); run "
                           f"eb_tools provision {where.name} first")
    start = (now + LEAD).replace(second=0, microsecond=0) + timedelta(minutes=1)
    sleep_at, notes = _going_back(schedule_of, now, start, for_)
    result = WakePlan(where, environments, before, start, sleep_at, notes)
    pending = join_resource(NAMESPACE, SLEEP_AFTER_WAKE)
    for tier, name in environments.items():
        spec = _spec(where, tier)
        actions = [ScheduledAction(WAKE_NOW, spec.min, spec.max, spec.min, start, None, None)]
        actions += [ScheduledAction(SLEEP_AFTER_WAKE, 0, 0, 0, sleep_at, None, None)] if sleep_at else []
        result.changes[name] = schedule.settings(actions)
        current = {} if sleep_at else ebenv.settings(eb, where.application, name)
        result.removed[name] = [key for key in current if key[0] == pending]
    return result


def _going_back(schedule_of: Schedule, now: datetime, start: datetime,
                for_: timedelta | None) -> tuple[datetime | None, list[str]]:
    """When the stage sleeps again, and what the plan says of it."""
    sleeps = [a for a in schedule.planned(schedule_of, schedule.ASLEEP, now) if a.name.startswith("sleep")]
    regular = scheduled_actions.next_due(sleeps, start, start + schedule.LOOK)
    at_regular = f"the schedule's next sleep, {_local(schedule_of, regular[0])}" if regular else \
        "the schedule's next sleep"
    if for_ is None:
        return None, [f"awake until {at_regular}"]
    sleep_at = (now + for_).replace(second=0, microsecond=0) + timedelta(minutes=1)  # a whole minute, as the plan reads
    if schedule.awake_now(schedule_of, sleep_at):
        return None, [f"{_local(schedule_of, sleep_at)} is inside the awake hours: the schedule takes over, awake "
                      f"until {at_regular}"]
    if regular and regular[0] < sleep_at:
        return sleep_at, [f"{at_regular} comes first: the stage sleeps then, before {_local(schedule_of, sleep_at)}"]
    return sleep_at, [f"back to sleep at {_local(schedule_of, sleep_at)} ({SLEEP_AFTER_WAKE})"]


def in_service(state: TierState, size: int) -> bool:
    """The tier is up: Ready and Green, `size` instances Ok, each on the environment's label (when it has one)."""
    return state.status == "Ready" and state.health == "Green" and state.healthy >= size and \
        (state.label is None or state.uniform)


def _spec(where: StageTarget, tier: str) -> Tier:
    return where.stage.web if tier == "web" else where.stage.worker


def _local(schedule_of: Schedule, moment: datetime) -> str:
    return f"{moment.astimezone(schedule_of.zone):%a %Y-%m-%d %H:%M %Z}"


def _summary(state: TierState) -> dict[str, Any]:
    return {"instances": sum(state.instances.values()), "status": state.status, "health": state.health,
            "health_status": state.health_status, "label": state.label}


def render(ready: WakePlan, echo: Echo) -> None:
    schedule_of = ready.where.stage.schedule
    assert schedule_of is not None  # wake() refuses a stage without one
    echo(f"stage {ready.where.name}: awake hours {schedule_of.awake} ({schedule_of.time_zone})")
    rows = []
    for tier, name in ready.environments.items():
        state, spec = ready.before[tier], _spec(ready.where, tier)
        rows.append((tier, name, f"{tier_state.running(state.instances)} ({state.health} {state.health_status})",
                     f"{WAKE_NOW}: {spec.min} instance(s) (max {spec.max}) from {_local(schedule_of, ready.start)}"))
    for line in table(rows, ("tier", "environment", "now", "")):
        echo(f"  {line}")
    for note in ready.notes:
        echo(f"  {note}")


def _execute(ready: WakePlan, echo: Echo, timeout: float) -> dict[str, Any]:
    where = ready.where
    eb, started = where.client("elasticbeanstalk"), datetime.now(UTC)
    requests = {}
    for name in ready.environments.values():
        answer = eb.update_environment(ApplicationName=where.application, EnvironmentName=name,
                                       OptionSettings=ebenv.option_settings(ready.changes[name]),
                                       OptionsToRemove=ebenv.options_to_remove(ready.removed[name]))
        requests[name] = answer["ResponseMetadata"]["RequestId"]
    try:
        ebenv.watch(eb, where.application, requests, started, echo, timeout, where.target.poll_seconds)
        echo(f"waiting for both tiers to have instances in service (from {ready.start:%H:%M} UTC)")
        after = _in_service(where, ready.environments, set(requests.values()), started, echo, timeout)
    except (WaitTimeout, OperationFailed) as error:
        raise ReleaseError(f"wake {where.name}: {error}; see eb events") from None
    echo(f"stage {where.name}: awake ({'; '.join(ready.notes)})")
    return ready.report(False, after)


def _in_service(where: StageTarget, environments: dict[str, str], requests: set[str], started: datetime,
                echo: Echo, timeout: float) -> dict[str, TierState]:
    """Wait until every tier is in service (in_service); print the environments'
    events as they come (those of the update `requests` were printed already), and a progress line after
    aws.QUIET_SECONDS without any (aws.Progress)."""
    eb, seen = where.client("elasticbeanstalk"), set()
    width = max(len(name) for name in environments.values())
    found: dict[str, TierState] = {}
    progress = Progress(echo, "both tiers to have instances in service")

    def up() -> bool:
        events = eb.describe_events(ApplicationName=where.application, StartTime=started)["Events"]
        for event in reversed(events):
            key = (event.get("EnvironmentName"), str(event["EventDate"]), event["Message"])
            if key[0] in environments.values() and key not in seen and event.get("RequestId") not in requests:
                seen.add(key)
                progress.news(1)
                echo(f"  {event['EventDate']:%H:%M:%S}  {key[0]:<{width}}  {event['Severity']:<5} {event['Message']}")
        found.update(tier_state.read(eb, where.application, environments))
        progress.quiet(lambda: ", ".join(f"{tier} {tier_state.running(state.instances)} "
                                         f"({state.health_status or state.status})" for tier, state in found.items()))
        return all(in_service(state, _spec(where, tier).min) for tier, state in found.items())

    wait_until(up, timeout, f"{', '.join(environments.values())} in service", interval=where.target.poll_seconds)
    return found
