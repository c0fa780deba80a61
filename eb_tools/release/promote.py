"""`eb_tools promote SRC DST`: the exact label SRC runs, no rebuild, on DST's web and worker.

Preconditions, checked read-only before anything changes: SRC's web and worker run the same label, Green,
every instance on it; DST's environments exist and are Ready. The plan shows what was tested on SRC (the
bundle's and its lock's checksums, the platform versions) and warns where DST differs (fingerprint.py), and
where the two stages differ in ways their stage file does not explain (diff.py: a setting changed by hand).
When DST's application (another account, region or application) lacks the label, its bundle's bytes are
copied from SRC's storage and verified by checksum, and the same label is registered there. Then the release
runs as a deploy does (execute.py).

`--strategy swap` (blue/green, web tier only): DST's idle web twin is created or updated to the label,
smoke-tested, and its CNAME swapped with the live web environment's; the worker is updated in place. A label
DST already runs on every tier is promoted to nothing: the twin keeps the previous release, the way back.
"""
from __future__ import annotations

from eb_tools.errors import ReleaseError
from eb_tools.release import diff, execute, fingerprint, tier_state, versions
from eb_tools.release.execute import DEFAULT_TIMEOUT
from eb_tools.stage import runner
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget


def source_label(source: StageTarget) -> str:
    """The one label SRC's tiers run, Green on every instance; else ReleaseError saying what is wrong."""
    states = tier_state.read(source.client("elasticbeanstalk"), source.application, source.live())
    for state in states.values():
        if not state.exists:
            raise ReleaseError(f"promote: stage {source.name} has no environment {state.environment}; "
                               f"provision and deploy {source.name} first")
        if state.settled_on is None:
            running = tier_state.running(state.instances, none="none")
            raise ReleaseError(f"promote: stage {source.name}'s {state.tier} is not a tested release: "
                               f"{state.status}, health {state.health or '?'}, version {state.label}, instances "
                               f"{running}; fix {source.name} (eb_tools status {source.name}) first")
    labels = {s.label for s in states.values()}
    if len(labels) != 1:
        detail = ", ".join(f"{s.tier} on {s.label}" for s in states.values())
        raise ReleaseError(f"promote: stage {source.name}'s tiers run different versions ({detail}); "
                           f"deploy one label to {source.name} first")
    return str(labels.pop())


def promote(source: StageTarget, destination: StageTarget, echo: Echo, *, strategy: str = "in-place",
            dry_run: bool = False, timeout: float = DEFAULT_TIMEOUT, smoke: str | None = None,
            force: bool = False) -> str:
    """Promote in place, or by `strategy` "swap", through the stage runner; return the label. Refused, unless
    `force`, when the label's code cannot run on the destination's database (schema.py)."""
    if (source.name, source.application) == (destination.name, destination.application):
        raise ReleaseError(f"promote: source and destination are both stage {source.name}")
    with source.naming_errors():
        label = source_label(source.verify())
        tested = fingerprint.read(source, label, source.live())
    if strategy == "swap" and not destination.stage.web.blue_green:
        raise ReleaseError(f"promote --strategy swap: stage {destination.name} has no idle web twin; set "
                           f"stages.{destination.name}.web.blue_green: true and run eb_tools provision "
                           f"{destination.name}, or promote in place")
    echo(f"promote {label}: stage {source.name} -> stage {destination.name} ({strategy})")
    with destination.naming_errors():
        environments = destination.verify().live()
        if strategy == "swap":
            if execute.plan(destination, label).empty:  # the twin holds the way back: never overwrite it for nothing
                echo(f"stage {destination.name}: web and worker already run {label} on every instance; nothing "
                     "promoted, the idle web twin keeps its version")
                return label
            environments["web"] = str(destination.web_pair()[1])

    def render(release: execute.Plan, say: Echo) -> None:
        if versions.find(destination, label) is None:
            say(f"  version {label} is not in application {destination.application} "
                f"({destination.target.region}) yet: its bundle is copied from stage {source.name} first")
        execute.render(release, say)
        say(f"  tested on stage {source.name}: {tested.line()}")
        for warning in fingerprint.warnings(tested, fingerprint.read(destination, label, environments, tested)):
            say(f"  WARNING: {warning}")
        for line in diff.warnings(source, destination):
            say(f"  WARNING: unexplained difference (eb_tools diff {source.name} {destination.name}): {line}")

    def carry(release: execute.Plan) -> None:
        versions.ensure(source, destination, label, echo)
        if strategy == "swap":
            _blue_green(destination, release, echo, timeout, smoke)
        else:
            execute.run(release, echo, timeout, execute.smoke_url(release, smoke))

    note = "nothing copied, nothing changed" + (", no CNAME swapped" if strategy == "swap" else "")
    return runner.carry_out(execute.operation(
        destination, f"promote {label} from {source.name}", f"promote from {source.name}", label, carry, timeout,
        environments=environments, dry_run_note=note, render_plan=render, force=force,
        bundle=lambda: tested.data), echo, dry_run=dry_run)


def _blue_green(where: StageTarget, release: execute.Plan, echo: Echo, timeout: float, smoke: str | None) -> None:
    """The idle twin and the worker to the label (the twin smoke-tested through its own URL), then the twin takes
    the stage's URL. Should the stage's URL then fail its smoke test, the swap and the worker are put back."""
    live, idle = where.web_pair()[0], release.states["web"].environment
    execute.run(release, echo, timeout, execute.smoke_url(release, None))
    echo(f"swapping URLs: {idle} takes the stage's URL from {live}")
    execute.swap(where, live, idle, echo, timeout)
    after = execute.plan(where, release.label)  # the live environments, now the twin among them
    problem = execute.smoke(url, echo) if (url := execute.smoke_url(after, smoke)) else None
    if problem is None:
        echo(f"stage {where.name}: {idle} serves the stage's URL on {release.label}; {live} is the idle twin")
        return
    echo(f"FAILED: {problem}; swapping back")
    execute.swap(where, idle, live, echo, timeout)
    worker = release.states["worker"]
    if worker.label and worker.label != release.label:
        execute.run(execute.plan(where, worker.label, {"worker": worker.environment}), echo, timeout,
                    put_back=False)
    raise ReleaseError(f"stage {where.name}: {release.label} failed after the swap: {problem}; swapped back to "
                       f"{live}, worker back on {worker.label}")
