"""`eb_tools rollback STAGE [--to LABEL]`: both tiers back on an earlier label, through the same release.

Without `--to`, the label the stage ran before its current one, from the stage's release history. A
rollback that fails is not itself rolled back (what ran before was the version being left): it says so and
leaves the stage for `eb_tools status`.
"""
from __future__ import annotations

from eb_tools.release import execute, history, lock, snapshot, versions
from eb_tools.release.deploy import LOCK_MARGIN, smoke_url
from eb_tools.release.execute import DEFAULT_TIMEOUT, Echo
from eb_tools.release.stage import ReleaseError, StageTarget


def target_label(where: StageTarget, to: str | None) -> str:
    """`to`, when registered; else the label before the web tier's current one."""
    if to is None:
        web = snapshot.read(where.client("elasticbeanstalk"), where.application,
                            {"web": where.web_pair()[0]})["web"]
        to = history.previous(where, web.label)
        if to is None:
            raise ReleaseError(f"rollback: no earlier release of stage {where.name} is recorded; name one with "
                               "--to LABEL (eb_tools versions lists them)")
    if versions.find(where, to) is None:
        raise ReleaseError(f"rollback: no version {to} in application {where.application} "
                           f"({where.target.region}); eb_tools versions lists them")
    return to


def rollback(where: StageTarget, echo: Echo, *, to: str | None = None, dry_run: bool = False,
             timeout: float = DEFAULT_TIMEOUT, smoke: str | None = None) -> str:
    label = target_label(where.verify(), to)
    if dry_run:
        execute.render(execute.plan(where, label), echo)
        echo("dry run: nothing changed")
        return label
    with lock.holding(where, f"rollback to {label}", timeout + LOCK_MARGIN):
        release = execute.plan(where, label)
        execute.render(release, echo)
        execute.run(release, echo, timeout, smoke_url(release, smoke), put_back=False)
        history.record(where, label, "rollback")
    return label
