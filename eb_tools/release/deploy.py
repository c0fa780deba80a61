"""`eb_tools deploy STAGE`: the repository's bundle, checked, built and uploaded once, on web and worker together.

Steps: `check` the bundle (errors refuse it, warnings are shown); build it once (label from git, or `--label`); read the
stage and print the plan (`--dry-run` stops here, nothing uploaded); take the stage's release lock; register
the version (upload once to EB's storage bucket); run the release (execute.py: both tiers in parallel,
verified per instance, smoke-tested, put back on failure); record it in the stage's history.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eb_tools.bundle import BundleError, build
from eb_tools.check import run as check_bundle
from eb_tools.release import execute, history, lock, versions
from eb_tools.release.execute import DEFAULT_TIMEOUT, Echo
from eb_tools.release.stage import ReleaseError, StageTarget

LOCK_MARGIN = 600.0  # a release's lock outlives its timeout by this much (the put-back takes time too)
SMOKE_PATH = "/healthz/deep"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK")  # boto3's endpoint overrides


@dataclass(frozen=True)
class Built:
    label: str
    data: bytes
    description: str


def prepare(root: Path, output_dir: Path, *, label: str | None = None, working_tree: bool = False,
            echo: Echo | None = None) -> Built:
    """The bundle `eb deploy` would build from `root`, refused when `eb_tools check` finds errors; its
    warnings go to `echo`."""
    findings = check_bundle(root)
    for finding in findings:
        if finding.severity == "warning" and echo:
            echo(f"eb_tools check: {finding.as_text()}")
    failing = [f for f in findings if f.severity == "error"]
    if failing:
        raise ReleaseError(f"eb_tools check: {len(failing)} problem(s) in {root}, the first: "
                           f"{failing[0].as_text()}; fix them (eb_tools check {root}) and deploy again")
    try:
        bundle = build(root, output_dir, working_tree)
    except BundleError as error:
        raise ReleaseError(str(error)) from None
    chosen = label or bundle.label
    return Built(chosen, bundle.path.read_bytes(), f"eb_tools deploy of {bundle.label} ({bundle.files} files)")


def smoke_url(release: execute.Plan, override: str | None) -> str | None:
    """Where to smoke-test: `override` ("" for nowhere), else /healthz/deep through the web CNAME; nowhere
    against another endpoint than AWS's (the local cloud), whose CNAMEs are AWS's names for somebody else's."""
    if override is not None:
        return override or None
    cname = release.states["web"].cname if "web" in release.states else ""
    if not cname or release.where.target.endpoint_url or any(os.environ.get(v) for v in ENDPOINT_VARIABLES):
        return None
    return f"http://{cname}{SMOKE_PATH}"


def deliver(where: StageTarget, built: Built, echo: Echo, *, dry_run: bool = False,
            timeout: float = DEFAULT_TIMEOUT, smoke: str | None = None) -> None:
    """Put `built` on both tiers of `where` (see the module docstring, from the plan on)."""
    where.verify()
    if dry_run:
        execute.render(execute.plan(where, built.label), echo)
        echo("dry run: nothing uploaded, nothing changed")
        return
    with lock.holding(where, f"deploy {built.label}", timeout + LOCK_MARGIN):
        release = execute.plan(where, built.label)
        execute.render(release, echo)
        versions.register(where, built.label, built.data, built.description)
        execute.run(release, echo, timeout, smoke_url(release, smoke))
        history.record(where, built.label, "deploy")
