"""`eb_tools db snapshot STAGE` and `eb_tools db snapshots STAGE`.

A snapshot is a manual RDS snapshot of the stage's writer, named after the stage, the label its web tier runs
and the time (`staging-v42-20261107-143000`), so a list of them reads as a history of releases. It goes
through the stage runner: the plan (instance, name, label) is read-only and a dry run stops after it. The
figures a drill verifies are read before and after it and recorded as its tags (figures.py).
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from eb_tools.data import database as stage_database
from eb_tools.data import figures, reading, waiting
from eb_tools.data.database import StageDatabase
from eb_tools.stage import ebenv, runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

SNAPSHOT_FAILED = frozenset({"failed", "incompatible-restore"})
NO_LABEL = "no-release"


def snapshot_name(stage: str, label: str, when: datetime.datetime) -> str:
    """An RDS snapshot identifier (letters, digits, single hyphens, a letter first; at most 255)."""
    raw = f"{stage}-{label}-{when.astimezone(datetime.UTC):%Y%m%d-%H%M%S}"
    cleaned = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", raw)).strip("-")
    return (cleaned if cleaned[:1].isalpha() else f"s-{cleaned}")[:255].rstrip("-")


def current_label(where: StageTarget) -> str:
    """The label the stage's live web environment runs; NO_LABEL when it has none."""
    live = where.web_pair()[0]
    found = ebenv.describe(where.client("elasticbeanstalk"), where.application, [live])
    return str(found.get(live, {}).get("VersionLabel") or NO_LABEL)


@dataclass(frozen=True)
class SnapshotPlan:
    database: StageDatabase
    name: str
    label: str
    reader: reading.Reader
    empty: bool = False


def operation(where: StageTarget, echo: Echo, timeout: float, via: str = "auto"
              ) -> runner.Operation[SnapshotPlan, dict[str, Any]]:
    def plan(dry_run: bool) -> SnapshotPlan:
        label, database = current_label(where), stage_database.find(where)
        return SnapshotPlan(database, snapshot_name(where.name, label, datetime.datetime.now(datetime.UTC)), label,
                            reading.reader(where, database, via))

    def render(plan: SnapshotPlan, say: Echo) -> None:
        say(f"stage {where.name}: snapshot {plan.name} of DB instance {plan.database.identifier} "
            f"({plan.database.version}, label {plan.label}); its figures read {plan.reader.describe()}")

    return runner.Operation(where, f"db snapshot {where.name}", plan, render,
                            execute=lambda plan: take(where, plan, echo, timeout), unchanged=lambda plan: {})


def take(where: StageTarget, plan: SnapshotPlan, echo: Echo, timeout: float) -> dict[str, Any]:
    """Read the figures, snapshot, wait with progress, read them again and record them; the snapshot's row."""
    before = plan.reader.counts(plan.database.endpoint)
    rds = where.client("rds")
    rds.create_db_snapshot(DBSnapshotIdentifier=plan.name, DBInstanceIdentifier=plan.database.identifier,
                           Tags=[{"Key": figures.STAGE_TAG, "Value": where.name},
                                 {"Key": figures.LABEL_TAG, "Value": plan.label}])
    described = waiting.status(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=plan.name)[
        "DBSnapshots"][0], "Status", f"snapshot {plan.name}", echo, timeout, where.target.poll_seconds,
        SNAPSHOT_FAILED)
    after = plan.reader.counts(plan.database.endpoint)
    recorded = figures.Figures.around(before, after)
    rds.add_tags_to_resource(ResourceName=described["DBSnapshotArn"], Tags=recorded.tags())
    echo(f"stage {where.name}: snapshot {plan.name} available; recorded schema revision "
         f"{recorded.revision or figures.NO_REVISION} and the row counts of {len(recorded.rows)} tables")
    return row(described, recorded)


def row(snapshot: dict[str, Any], recorded: figures.Figures | None) -> dict[str, Any]:
    """A snapshot as the listing and JSON give it."""
    created = snapshot.get("SnapshotCreateTime")
    return {"id": snapshot["DBSnapshotIdentifier"], "type": snapshot.get("SnapshotType", ""),
            "status": snapshot.get("Status", ""), "created": created.isoformat() if created else None,
            "instance": snapshot.get("DBInstanceIdentifier"), "engine": snapshot.get("Engine"),
            "engine_version": snapshot.get("EngineVersion"),
            "label": next((t["Value"] for t in snapshot.get("TagList", []) if t["Key"] == figures.LABEL_TAG), None),
            "schema_revision": recorded.revision if recorded else None,
            "row_counts": {t: list(r) for t, r in recorded.rows.items()} if recorded else None}


def listing(where: StageTarget) -> list[dict[str, Any]]:
    """The stage writer's automated and manual snapshots, oldest first."""
    db = stage_database.find(where)
    pages = where.client("rds").get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=db.identifier)
    found = [s for page in pages for s in page["DBSnapshots"]]
    found.sort(key=lambda s: s.get("SnapshotCreateTime") or datetime.datetime.max.replace(tzinfo=datetime.UTC))
    return [row(s, figures.Figures.from_tags(s.get("TagList", []))) for s in found]


def render_listing(where: StageTarget, rows: list[dict[str, Any]], echo: Echo) -> None:
    echo(f"stage {where.name}: {len(rows)} snapshots")
    cells = [(r["id"], r["type"], r["status"], (r["created"] or "")[:19], r["label"] or "",
              "yes" if r["row_counts"] is not None else "no") for r in rows]
    for line in table(cells, ("snapshot", "type", "status", "created", "label", "figures")):
        echo(f"  {line}")
