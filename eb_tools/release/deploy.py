"""`eb_tools deploy STAGE`: the repository's bundle, checked, built and uploaded once, on web and worker together.

Steps: `check` the bundle (errors refuse it, warnings are shown); build it once (label from git, or `--label`;
with the wheelhouse for the stage's platform when its stage file says `bundle: {wheelhouse: true}`); read the
stage and print the plan (`--dry-run` stops here, nothing uploaded); take the stage's release lock; register
the version (upload once to EB's storage bucket); run the release (execute.py: both tiers in parallel,
verified per instance, smoke-tested, put back on failure); record it in the stage's history.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eb_tools.bundle import build
from eb_tools.check import run as check_bundle
from eb_tools.errors import ReleaseError
from eb_tools.release import execute, versions
from eb_tools.release.execute import DEFAULT_TIMEOUT
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget
from eb_tools.wheelhouse import Target


@dataclass(frozen=True)
class Built:
    label: str
    data: bytes
    description: str


def prepare(root: Path, output_dir: Path, *, label: str | None = None, working_tree: bool = False,
            echo: Echo | None = None, target: Target | None = None) -> Built:
    """The bundle `eb deploy` would build from `root` (with the wheelhouse for `target`, the stage's when its
    bundle setting asks for one), refused when `eb_tools check` finds errors; its warnings go to `echo`."""
    findings = check_bundle(root)
    for finding in findings:
        if finding.severity == "warning" and echo:
            echo(f"eb_tools check: {finding.as_text()}")
    failing = [f for f in findings if f.fails]
    if failing:
        raise ReleaseError(f"eb_tools check: {len(failing)} problem(s) in {root}, the first: "
                           f"{failing[0].as_text()}; fix them (eb_tools check {root}) and deploy again")
    bundle = build(root, output_dir, working_tree, target)
    chosen = label or bundle.label
    return Built(chosen, bundle.path.read_bytes(), f"eb_tools deploy of {bundle.label} ({bundle.files} files)")


def deliver(where: StageTarget, built: Built, echo: Echo, *, dry_run: bool = False,
            timeout: float = DEFAULT_TIMEOUT, smoke: str | None = None, force: bool = False) -> str:
    """Put `built` on both tiers of `where` through the stage runner (see the module docstring, from the plan
    on); the label. Refused when its code predates a migration the stage's database has that breaks it, or it
    ships a contract migration with its expand step, unless `force` (schema.py)."""
    def carry(release: execute.Plan) -> None:
        versions.register(where, built.label, built.data, built.description)
        execute.run(release, echo, timeout, execute.smoke_url(release, smoke))

    return runner.carry_out(execute.operation(where, f"deploy {built.label}", "deploy", built.label, carry, timeout,
                                              dry_run_note="nothing uploaded, nothing changed",
                                              bundle=lambda: built.data, force=force), echo, dry_run=dry_run)
