"""`eb_tools versions [STAGE] [--prune]`: every application's versions as one report, and pruning as an
operation of the stage runner (its plan shown, then asked, or `--yes`, as every destructive verb does).

The stages of the stage file fall into applications (versions.groups): one entry per application, each read
on its own, so an application that does not exist yet (its stages never provisioned in that region) or that
cannot be read (credentials of another account) is said in its entry while the others are still listed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eb_tools.errors import EbToolsError
from eb_tools.release import versions
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

Ask = Callable[[str], bool]


@dataclass(frozen=True)
class Pruning:
    """The plan of a prune: the application's versions, those to delete marked."""

    rows: list[dict[str, Any]]

    @property
    def doomed(self) -> list[str]:
        return [row["label"] for row in self.rows if row["pruned"]]

    @property
    def empty(self) -> bool:
        return not self.doomed


def report(wheres: list[StageTarget], only: str | None, keep: int | None, echo: Echo, *, dry_run: bool = False,
           yes: bool = False, ask: Ask | None = None) -> dict[str, Any]:
    """{"applications": [entry per application]} of the applications of `wheres` (every stage of the stage
    file, so a label any of them needs is kept), or only the one `only` belongs to; with `keep`, each prunes
    all but the `keep` newest versions that nothing needs."""
    entries = [_application(group, keep, echo, dry_run=dry_run, yes=yes, ask=ask)
               for group in versions.groups(wheres) if only is None or only in {w.name for w in group}]
    return {"applications": entries}


def _application(group: list[StageTarget], keep: int | None, echo: Echo, *, dry_run: bool, yes: bool,
                 ask: Ask | None) -> dict[str, Any]:
    where = group[0]
    entry: dict[str, Any] = {"application": where.application, "region": where.target.region,
                             "stages": [w.name for w in group], "exists": False, "versions": [], "deleted": []}
    title = f"application {where.application} ({where.target.region})"
    try:
        with where.naming_errors():
            eb = where.verify().client("elasticbeanstalk")
            if not eb.describe_applications(ApplicationNames=[where.application])["Applications"]:
                echo(f"{title}: not created yet (eb_tools provision {where.name} creates it)")
                return entry
            entry["exists"] = True
            if keep is None:
                entry["versions"] = versions.survey(group, None)
                render(title, Pruning(entry["versions"]), echo)
                return entry
            runner.carry_out(_prune(group, keep, title, echo, yes, ask, entry), echo, dry_run=dry_run)
    except EbToolsError as error:
        echo(f"{title}: {error}")
        return entry | {"error": str(error)}
    return entry


def _prune(group: list[StageTarget], keep: int, title: str, echo: Echo, yes: bool, ask: Ask | None,
           entry: dict[str, Any]) -> runner.Operation[Pruning, Pruning]:
    where = group[0]

    def planned(_dry_run: bool) -> Pruning:
        plan = Pruning(versions.survey(group, keep))
        entry["versions"] = plan.rows
        return plan

    def execute(plan: Pruning) -> Pruning:
        versions.delete(where, plan.doomed, echo)
        entry["deleted"] = plan.doomed
        return plan

    def confirm(_question: str) -> bool:
        return ask is not None and ask(f"Delete the versions marked pruned from {title}?")

    return runner.Operation(where=where, title="versions --prune", plan=planned,
                            render=lambda plan, shown: render(title, plan, shown), execute=execute,
                            unchanged=lambda plan: plan, empty_note=f"no version of {title} to prune",
                            dry_run_note="nothing deleted", confirm=None if yes else confirm)


def render(title: str, plan: Pruning, echo: Echo) -> None:
    echo(f"{title}: {len(plan.rows)} versions" + (f", {len(plan.doomed)} to prune" if plan.doomed else ""))
    rows = [(row["label"], row["created"][:16], ", ".join(row["used_by"]) or "-", "pruned" if row["pruned"] else "")
            for row in plan.rows]
    for line in table(rows, ("version", "created", "needed by", "")):
        echo(f"  {line}")


__all__ = ["report", "render"]
