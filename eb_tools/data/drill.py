"""`eb_tools db restore STAGE --drill [--snapshot ID | --time ISO] [--keep]`: prove the backups restore.

A backup nobody has restored is a hope. The drill restores a snapshot (default: the stage's latest) or a point
in time into a new instance in the stage's network (its subnet group, security groups and parameter group,
never public), verifies it against the figures recorded at the snapshot (figures.py), times each step against
the stage file's restore_goal_minutes, and deletes the instance unless --keep. The plan is read-only and
refuses bad input before anything changes: a snapshot of another stage's database, a time outside the
restore window, a snapshot of another engine version than the stage runs (RDS restores a snapshot at its own
version, which the stage's parameter group and app were not tested with).
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eb_tools.data import database as stage_database
from eb_tools.data import figures, reading, restoring
from eb_tools.data.database import StageDatabase
from eb_tools.errors import DataError, EbToolsError
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

DRILL_TAG = f"{figures.PREFIX}drill"


@dataclass(frozen=True)
class DrillPlan:
    database: StageDatabase
    instance: str  # the drill's new DB instance
    source: str  # what is restored, in words
    snapshot: str | None
    restore_time: datetime.datetime | None
    recorded: figures.Figures | None
    goal_minutes: int
    keep: bool
    reader: reading.Reader
    empty: bool = False


@dataclass
class Report:
    stage: str
    plan: DrillPlan
    steps: list[tuple[str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    compared: bool = False

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds in self.steps)

    @property
    def within_goal(self) -> bool:
        return self.total <= self.plan.goal_minutes * 60

    @property
    def passed(self) -> bool:
        return not self.problems and self.within_goal

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "source": self.plan.source, "instance": self.plan.instance,
                "steps": [{"step": name, "seconds": round(seconds, 1)} for name, seconds in self.steps],
                "total_seconds": round(self.total, 1), "goal_minutes": self.plan.goal_minutes,
                "read": self.plan.reader.describe(),
                "within_goal": self.within_goal, "compared": self.compared, "problems": self.problems,
                "kept": self.plan.keep, "passed": self.passed}


def _parse_time(text: str) -> datetime.datetime:
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"--time {text}: not an ISO date and time such as 2026-11-07T14:30:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def plan(where: StageTarget, snapshot: str | None, at: str | None, keep: bool, via: str = "auto") -> DrillPlan:
    """What the drill restores, checked (read-only), and how its copy is read (`via`: reading.VIA)."""
    if snapshot and at:
        raise DataError("db restore: give --snapshot or --time, not both")
    db = stage_database.find(where)
    goal = where.stage.database.restore_goal_minutes if where.stage.database else 15
    instance = f"{where.name}-drill-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}"
    if at is not None:
        when = _parse_time(at)
        _check_window(where, db, when)
        return DrillPlan(db, instance, f"{db.identifier} at {when.isoformat()}", None, when, None, goal, keep,
                         reading.reader(where, db, via))
    chosen = _snapshot(where, db, snapshot)
    recorded = figures.Figures.from_tags(chosen.get("TagList", []))
    return DrillPlan(db, instance, f"snapshot {chosen['DBSnapshotIdentifier']}", chosen["DBSnapshotIdentifier"],
                     None, recorded, goal, keep, reading.reader(where, db, via))


def _snapshot(where: StageTarget, db: StageDatabase, name: str | None) -> dict[str, Any]:
    """The snapshot to restore: `name` (which must be the stage's, available, of its engine version), or the
    stage's latest available one."""
    rds = where.client("rds")
    if name is None:
        found = [s for s in rds.describe_db_snapshots(DBInstanceIdentifier=db.identifier)["DBSnapshots"]
                 if s["Status"] == "available"]
        if not found:
            raise DataError(f"stage {where.name}: DB instance {db.identifier} has no available snapshot; take one "
                            f"with eb_tools db snapshot {where.name}")
        return max(found, key=lambda s: s["SnapshotCreateTime"])
    matching = rds.describe_db_snapshots(Filters=[{"Name": "db-snapshot-id", "Values": [name]}])["DBSnapshots"]
    if not matching:
        raise DataError(f"stage {where.name}: no DB snapshot {name}; eb_tools db snapshots {where.name} lists them")
    chosen: dict[str, Any] = matching[0]
    if chosen.get("DBInstanceIdentifier") != db.identifier:
        raise DataError(f"snapshot {name} is of DB instance {chosen.get('DBInstanceIdentifier')}, not of stage "
                        f"{where.name}'s ({db.identifier}); drill a snapshot of that stage with its own name")
    version = f"{chosen.get('Engine')} {chosen.get('EngineVersion')}"
    if version != db.version:
        raise DataError(f"snapshot {name} is {version}, stage {where.name} runs {db.version}: RDS restores a "
                        "snapshot at its own engine version, which the stage's parameter group and app are not on")
    if chosen["Status"] != "available":
        raise DataError(f"snapshot {name} is {chosen['Status']}; wait until it is available")
    return chosen


def _check_window(where: StageTarget, db: StageDatabase, when: datetime.datetime) -> None:
    backups = where.client("rds").describe_db_instance_automated_backups(DBInstanceIdentifier=db.identifier)[
        "DBInstanceAutomatedBackups"]
    window = backups[0].get("RestoreWindow", {}) if backups else {}
    earliest, latest = window.get("EarliestTime"), window.get("LatestTime")
    if earliest is None or latest is None:
        raise DataError(f"stage {where.name}: DB instance {db.identifier} has no automated backups to restore a "
                        "point in time from (database.backup_retention_days 0?)")
    if not earliest <= when <= latest:
        raise DataError(f"--time {when.isoformat()} is outside stage {where.name}'s restore window "
                        f"({earliest.isoformat()} to {latest.isoformat()})")


def render(plan: DrillPlan, echo: Echo) -> None:
    db = plan.database
    echo(f"restore drill: {plan.source} -> new DB instance {plan.instance} ({db.version}, {db.instance_class})")
    echo(f"  network: subnet group {db.subnet_group}, security groups {', '.join(db.security_groups) or '-'}, "
         f"parameter group {db.parameter_group or 'default'}, not publicly accessible")
    echo("  verify: " + ("the schema revision and row counts recorded at the snapshot" if plan.recorded else
                         "the schema revision and tables are readable (no figures recorded)")
         + f", read {plan.reader.describe()}")
    echo(f"  goal: {plan.goal_minutes} min; then {'keep' if plan.keep else 'delete'} {plan.instance}")


def operation(where: StageTarget, snapshot: str | None, at: str | None, keep: bool, echo: Echo, via: str = "auto"
              ) -> runner.Operation[DrillPlan, Report | None]:
    return runner.Operation(where, f"db restore drill {where.name}",
                            lambda dry: plan(where, snapshot, at, keep, via),
                            render, execute=lambda p: run(where, p, echo), unchanged=lambda p: None,
                            dry_run_note="no instance restored")


def run(where: StageTarget, plan: DrillPlan, echo: Echo) -> Report:
    """Restore, verify, delete (unless kept), each step timed; the report."""
    report = Report(where.name, plan)
    try:
        endpoint = _step(report, "restore", echo, lambda: _restore(where, plan, echo))
        if endpoint is not None:
            _step(report, "verify", echo, lambda: _verify(where, plan, endpoint, report))
    finally:
        if not plan.keep:
            _step(report, "delete", echo, lambda: where.client("rds").delete_db_instance(
                DBInstanceIdentifier=plan.instance, SkipFinalSnapshot=True, DeleteAutomatedBackups=True))
    return report


def _step(report: Report, name: str, echo: Echo, work: Callable[[], Any]) -> Any:
    started = time.monotonic()
    try:
        return work()
    except EbToolsError as error:  # a failed or timed-out restore, an unreachable copy: the drill failed
        report.problems.append(f"{name}: {error}")
        return None
    finally:
        report.steps.append((name, time.monotonic() - started))
        echo(f"  {name}: {report.steps[-1][1]:.1f} s")


def _restore(where: StageTarget, plan: DrillPlan, echo: Echo) -> stage_database.Endpoint:
    source = restoring.Source(plan.snapshot, plan.restore_time, plan.database.identifier)
    return restoring.restore(where, source, plan.database, plan.instance, {DRILL_TAG: where.name}, echo,
                             plan.goal_minutes * 60 * 2)


def _verify(where: StageTarget, plan: DrillPlan, endpoint: stage_database.Endpoint, report: Report) -> None:
    restored = plan.reader.counts(endpoint)
    if plan.recorded is not None:
        report.compared = True
        report.problems += figures.problems(plan.recorded, restored)


def render_report(report: Report, echo: Echo) -> None:
    verdict = "passed" if report.passed else "FAILED"
    goal = f"{report.total:.1f} s against a goal of {report.plan.goal_minutes} min"
    compared = "verified against the figures recorded at the snapshot" if report.compared else \
        "restored and readable; no figures were recorded at this source, so nothing was compared"
    echo(f"restore drill {verdict}: {goal}; {compared}" + ("" if report.within_goal else "; goal missed"))
    for problem in report.problems:
        echo(f"  problem: {problem}")
    if report.plan.keep:
        echo(f"  kept: DB instance {report.plan.instance} (delete it when done)")
