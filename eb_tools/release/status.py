"""`eb_tools status [STAGE]`: what every stage's web and worker run, read-only.

Per tier: label, status, health and its causes, instances by version, URL, the schema revision its code
expects and the one the database is at (as the stage's release history recorded them: the database itself
is inside the stage's network; its instances' /healthz/deep reads it), and the last events; then the
stage's off-hours (schedule_status.py): each tier awake or asleep by its scheduled actions, and a warning
when the schedule needs provisioning again; and its mail (mail_status.py): its SES identity until verified,
and the account's SES sandbox. A stage is consistent when both tiers name one label and every instance runs it
(a tier its schedule put to sleep has none); the command exits non-zero when a provisioned one is not. A stage
never provisioned (neither environment exists) says so and is no failure; one that cannot be read (no
credentials, another account) is reported in its row and fails the command, not the other rows.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eb_tools.errors import EbToolsError, aws_message
from eb_tools.release import mail_status, schedule_status, tier_state
from eb_tools.release.execute import Echo
from eb_tools.stage import history
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

EVENTS = 3  # per environment


def stage_status(where: StageTarget, now: datetime | None = None) -> dict[str, Any]:
    """One stage as a JSON-ready dict; its schedule judged at `now` (default: the time it is)."""
    result: dict[str, Any] = {"stage": where.name, "application": where.application, "region": where.target.region}
    try:
        where.verify()
        eb = where.client("elasticbeanstalk")
        environments = where.live()
        states = tier_state.read(eb, where.application, environments, causes=True)
        tiers = {}
        for tier, state in states.items():
            tiers[tier] = state.as_dict()
            tiers[tier]["events"] = [] if not state.exists else [
                {"date": e["EventDate"].isoformat(), "severity": e["Severity"], "message": e["Message"]}
                for e in eb.describe_events(ApplicationName=where.application, EnvironmentName=state.environment,
                                            MaxRecords=EVENTS)["Events"]]
        existing = {tier: name for tier, name in environments.items() if states[tier].exists}
        result["schedule"] = schedule_status.read(where, eb, existing, now)
    except (ClientError, BotoCoreError) as error:
        result.update(error=aws_message(error, f"stage {where.name}", where.stage.profile), consistent=False)
        return result
    except EbToolsError as error:
        result.update(error=str(error), consistent=False)
        return result
    labels = {s.label for s in states.values()}
    _add_schema(where, tiers)
    result["tiers"] = tiers
    result["provisioned"] = any(s.exists for s in states.values())
    # a tier its schedule put to sleep has no instance, which is no inconsistency
    result["consistent"] = all(s.exists and (s.uniform or (not s.instances and schedule_status.asleep(
        result["schedule"], tier))) for tier, s in states.items()) and len(labels) == 1
    result["label"] = labels.pop() if result["consistent"] else None
    result["mail"] = mail_status.read(where)
    return result


def _add_schema(where: StageTarget, tiers: dict[str, dict[str, Any]]) -> None:
    """Each tier's {"code": revision its label expects, "database": revision after the last release}, from the
    stage's release history (None where it recorded none)."""
    entries = history.read(where)
    expects = {e["label"]: e.get("schema") for e in entries}
    database = entries[-1].get("database") if entries else None
    for tier in tiers.values():
        tier["schema"] = {"code": expects.get(tier["label"]), "database": database}


def failed(report: dict[str, Any]) -> bool:
    """What makes `status` exit 1: a stage that cannot be read, or a provisioned one whose tiers or instances
    run different labels (a stage never provisioned is no failure)."""
    return "error" in report or (report["provisioned"] and not report["consistent"])


def _headline(report: dict[str, Any]) -> str:
    if "error" in report:
        return str(report["error"])
    if not report["provisioned"]:
        return f"not provisioned (eb_tools provision {report['stage']} creates it)"
    return f"{report['label']} on both tiers" if report["consistent"] else "INCONSISTENT"


def render(report: dict[str, Any], echo: Echo) -> None:
    echo(f"stage {report['stage']} ({report['application']}, {report['region']}): {_headline(report)}")
    if not report.get("provisioned", True):
        return
    tiers = list(report.get("tiers", {}).values())
    header, *rows = table([_row(tier) for tier in tiers], ("tier", "environment", "label", "status", "health", "",
                                                           "instances"))
    if tiers:
        echo(f"  {header}")
    for tier, row in zip(tiers, rows, strict=True):
        echo(f"  {row}")
        for line in _details(tier):
            echo(f"         {line}")
    schedule_status.render(report.get("schedule"), echo)
    if "mail" in report:
        mail_status.render(report["mail"], report["region"], echo)


def _row(tier: dict[str, Any]) -> tuple[str, ...]:
    if not tier["exists"]:
        return tier["tier"], tier["environment"], "not provisioned", "", "", "", ""
    return (tier["tier"], tier["environment"], tier["label"] or "-", tier["status"], tier["health"],
            tier["health_status"], tier_state.running(tier["instances"]))


def _details(tier: dict[str, Any]) -> list[str]:
    """The lines under a tier's row: its URL, schema, health causes and last events."""
    if not tier["exists"]:
        return []
    lines = [f"url: http://{tier['url']}"] if tier["url"] else []
    schema = tier["schema"]
    if schema["code"] or schema["database"]:
        lines.append(f"schema: code expects {schema['code'] or '?'}, database at {schema['database'] or '?'} "
                     "(as the releases recorded)")
    lines += [f"cause: {cause}" for cause in tier["causes"]]
    return lines + [f"{e['date'][:19]} {e['severity']:<5} {e['message']}" for e in tier["events"]]


__all__ = ["failed", "render", "stage_status"]
