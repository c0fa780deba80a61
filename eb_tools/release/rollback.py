"""`eb_tools rollback STAGE [--label LABEL]`: both tiers back on an earlier label, through the same release.

Without `--label`, the label the stage ran before its current one, from the stage's release history. A
rollback that fails is not itself rolled back (what ran before was the version being left): it says so and
leaves the stage for `eb_tools status`.
"""
from __future__ import annotations

from eb_tools.errors import ReleaseError
from eb_tools.release import execute, tier_state, versions
from eb_tools.release.execute import DEFAULT_TIMEOUT
from eb_tools.stage import history, runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget


def target_label(where: StageTarget, to: str | None) -> str:
    """`to`, when registered; else the label before the web tier's current one."""
    if to is None:
        web = tier_state.read(where.client("elasticbeanstalk"), where.application,
                            {"web": where.web_pair()[0]})["web"]
        to = history.previous(where, web.label)
        if to is None:
            raise ReleaseError(f"rollback: no earlier release of stage {where.name} is recorded; name one with "
                               "--label LABEL (eb_tools versions lists them)")
    if versions.find(where, to) is None:
        raise ReleaseError(f"rollback: no version {to} in application {where.application} "
                           f"({where.target.region}); eb_tools versions lists them")
    return to


def rollback(where: StageTarget, echo: Echo, *, to: str | None = None, dry_run: bool = False,
             timeout: float = DEFAULT_TIMEOUT, smoke: str | None = None, force: bool = False) -> str:
    """Both tiers onto `to` (default: the label before the current one) through the stage runner; the label.
    Refused when the stage's database has a migration that breaks that label's code, unless `force`
    (schema.py). A failure is not put back (see the module docstring)."""
    with where.naming_errors():
        label = target_label(where.verify(), to)

    def carry(release: execute.Plan) -> None:
        execute.run(release, echo, timeout, execute.smoke_url(release, smoke), put_back=False)

    return runner.carry_out(execute.operation(where, f"rollback to {label}", "rollback", label, carry, timeout,
                                              bundle=lambda: versions.bundle_of(where, label), force=force),
                            echo, dry_run=dry_run)
