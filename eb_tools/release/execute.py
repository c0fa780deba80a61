"""Move a stage's tiers to a label together, prove it, and put them back when anything goes wrong.

The pipeline every release command (deploy, promote, rollback, local) runs:
  1. plan (read-only): each tier's environment as it is, and which must move; refuse a missing environment
     or one that is not Ready, before anything changes;
  2. update every moving environment at once (UpdateEnvironment with the label), then follow both with one
     event feed (each update's own RequestId, prefixed by tier) until both are Ready; when one tier reports
     an error the others' updates are aborted, since they will be put back anyway;
  3. verify: each environment names the label, is Green, and DescribeInstancesHealth shows every instance on
     it (EB has reported success with an instance left on the old version);
  4. smoke-test `/healthz/deep` through the web URL when it is reachable from here;
  5. on a failure, a timeout or Ctrl-C: abort what is still updating and put every tier back on the label it
     ran before (a redeploy, which also repairs instances a failed rolling deployment left on the new label),
     then verify that too; the error names the first cause.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.exceptions import ClientError

from eb_tools.aws import WaitTimeout, wait_until
from eb_tools.errors import ReleaseError
from eb_tools.release import schema, tier_state
from eb_tools.release.tier_state import TierState
from eb_tools.stage import ebenv, history
from eb_tools.stage.ebenv import EventFeed, describe
from eb_tools.stage.runner import Echo, Operation
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget

LOCK_MARGIN = 600.0  # a release's lock outlives its timeout by this much (the put-back takes time too)
SMOKE_PATH = "/healthz/deep"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK")  # boto3's endpoint overrides
DEFAULT_TIMEOUT = 2700.0  # 45 minutes: the eb CLI gives up after 10 while a rolling update goes on
HEALTH_GRACE = 180.0  # after Ready, how long enhanced health may take to report Green
SMOKE_TIMEOUT = 60.0
CLOCK_SKEW = timedelta(minutes=1)  # events are dated by AWS's clock, the cursor by ours


@dataclass(frozen=True)
class Move:
    tier: str
    label: str  # where it goes
    before: TierState  # what it ran: where a failure puts it back

    @property
    def environment(self) -> str:
        return self.before.environment


@dataclass(frozen=True)
class Plan:
    where: StageTarget
    label: str
    moves: tuple[Move, ...]  # the tiers not already settled on the label
    states: dict[str, TierState]  # every tier as it was read
    schema: schema.Verdict | None = None  # whether the label's code may run on the stage's database

    @property
    def empty(self) -> bool:
        return not self.moves


def plan(where: StageTarget, label: str, environments: dict[str, str] | None = None) -> Plan:
    """Read-only: which of the stage's tiers must move to `label`. A tier already Green with every instance on
    it stays; one that names the label but is mixed or unhealthy is redeployed. `environments` ({tier: name})
    chooses other environments than the live ones (the idle web twin of a swap)."""
    states = tier_state.read(where.client("elasticbeanstalk"), where.application, environments or where.live())
    _check_ready(where, states)
    moves = tuple(Move(tier, label, state) for tier, state in states.items() if state.settled_on != label)
    return Plan(where, label, moves, states)


def _check_ready(where: StageTarget, states: dict[str, TierState]) -> None:
    """Refuse, before anything changes, a tier whose environment is missing or not Ready."""
    for state in states.values():
        if not state.exists:
            raise ReleaseError(f"stage {where.name}: environment {state.environment} does not exist; "
                               f"run eb_tools provision {where.name} first")
        if state.status != "Ready":
            raise ReleaseError(f"stage {where.name}: environment {state.environment} is {state.status}, and "
                               "Elastic Beanstalk accepts a new version only when it is Ready; wait for it "
                               f"(eb_tools status {where.name}) or abort its update (eb abort), then run again")


def refresh(where: StageTarget, echo: Echo, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Redeploy every tier on the label it runs, so that every process restarts and reads its environment
    secrets again (EB reads them when it deploys, not while an app runs: EB guide, "Fetching secrets and
    parameters to Elastic Beanstalk environment variables"), batch by batch under each environment's
    deployment policy, the load balancer sending no request to a batch that restarts."""
    states = tier_state.read(where.client("elasticbeanstalk"), where.application, where.live())
    _check_ready(where, states)
    moves = tuple(Move(tier, state.label, state) for tier, state in states.items() if state.label)
    cause = _apply(where, moves, echo, time.monotonic() + timeout)
    if cause is not None:
        raise ReleaseError(f"stage {where.name}: restarting the processes failed: {cause}; see eb_tools status "
                           f"{where.name}")


def operation(where: StageTarget, title: str, how: str, label: str, carry: Callable[[Plan], None],
              timeout: float, *, environments: dict[str, str] | None = None, dry_run_note: str = "nothing changed",
              render_plan: Callable[[Plan, Echo], None] | None = None,
              bundle: Callable[[], bytes | None] | None = None, force: bool = False) -> Operation[Plan, str]:
    """A release verb (deploy, promote, rollback) for the stage runner: plan `label` onto `where` (its
    `environments`, default the live ones) under the stage's lock held for `title`, judge its code against the
    stage's database when `bundle` gives its bytes (refused unless `force`), `carry` the plan out, record the
    label and the schema its code expects in the stage's history with `how`; the outcome is the label."""
    def planned(_dry_run: bool) -> Plan:
        release = plan(where, label, environments)
        if bundle is None or release.empty:
            return release
        running = [state.label for state in release.states.values()]
        return replace(release, schema=schema.judge(where, label, bundle(), running))

    def shown(release: Plan, echo: Echo) -> None:
        (render_plan or render)(release, echo)
        for line in schema.lines(release.schema, force) if release.schema else ():
            echo(line)

    def refused(release: Plan) -> None:
        if release.schema is not None:
            schema.refuse(release.schema, force, lambda why: ReleaseError(f"stage {where.name}: {how} of {label} "
                                                                         f"refused: {why}"))

    def carried(release: Plan) -> str:
        carry(release)
        return label

    return Operation(where, title, plan=planned, render=shown, refuse=refused, execute=carried,
                     unchanged=lambda _plan: label, lock_seconds=timeout + LOCK_MARGIN,
                     history=lambda release: history.Release(label, how, *(
                         (release.schema.head, release.schema.after) if release.schema else ())),
                     dry_run_note=dry_run_note)


def summary(where: StageTarget, label: str, dry_run: bool) -> dict[str, Any]:
    """A release verb's `--output json`, read after it: each tier's state now and whether it runs `label` on
    every instance, Ready and Green (after a dry run, the tiers that would move are those that do not)."""
    states = tier_state.read(where.client("elasticbeanstalk"), where.application, where.live())
    return {"stage": where.name, "application": where.application, "region": where.target.region, "label": label,
            "dry_run": dry_run, "tiers": {tier: state.as_dict() | {"on_label": state.settled_on == label}
                                          for tier, state in states.items()}}


def smoke_url(release: Plan, override: str | None) -> str | None:
    """Where to smoke-test: `override` ("" for nowhere), else /healthz/deep through the web CNAME; nowhere
    against another endpoint than AWS's (the local cloud), whose CNAMEs are AWS's names for somebody else's."""
    if override is not None:
        return override or None
    cname = release.states["web"].cname if "web" in release.states else ""
    if not cname or release.where.target.endpoint_url or any(os.environ.get(v) for v in ENDPOINT_VARIABLES):
        return None
    return f"http://{cname}{SMOKE_PATH}"


def render(release: Plan, echo: Echo) -> None:
    echo(f"stage {release.where.name} ({release.where.application}, {release.where.target.region}): "
         f"version {release.label}")
    moving = {m.tier for m in release.moves}
    rows = [(tier, state.environment, state.label or "-", state.health or "-", tier_state.running(state.instances),
             f"-> {release.label}" if tier in moving else "stays") for tier, state in release.states.items()]
    for line in table(rows, ("tier", "environment", "label", "health", "instances", "")):
        echo(f"  {line}")


def run(release: Plan, echo: Echo, timeout: float = DEFAULT_TIMEOUT, smoke_url: str | None = None,
        put_back: bool = True) -> None:
    """Carry out `release`; on any failure put the tiers back (unless `put_back` is False) and raise
    ReleaseError with the first cause. Ctrl-C counts as a failure."""
    if release.empty:
        echo(f"stage {release.where.name}: web and worker already run {release.label} on every instance")
        return
    deadline = time.monotonic() + timeout
    try:
        cause = _apply(release.where, release.moves, echo, deadline)
        if cause is None and smoke_url:
            cause = smoke(smoke_url, echo)
    except KeyboardInterrupt:
        cause = "interrupted (Ctrl-C)"
    except WaitTimeout:
        cause = f"not done within --timeout {timeout:g}s"
    if cause is None:
        echo(f"stage {release.where.name}: web and worker run {release.label} on every instance")
        return
    echo(f"FAILED: {cause}")
    if not put_back:
        raise ReleaseError(f"stage {release.where.name}: {cause}; see eb_tools status {release.where.name}")
    raise ReleaseError(f"stage {release.where.name}: {release.label} failed: {cause}; "
                       f"{_put_back(release, echo, max(timeout, DEFAULT_TIMEOUT))}")


def _put_back(release: Plan, echo: Echo, timeout: float) -> str:
    """Every moved tier back on the label it ran; the outcome as the end of the error line. A tier the failure
    left untouched (an Immutable deployment, one aborted before it began) is not redeployed. It gets at least
    DEFAULT_TIMEOUT whatever the release's own --timeout: giving up half-way would leave the stage mixed."""
    where = release.where
    if not any(m.before.label for m in release.moves):
        return "no tier had an earlier version to go back to; fix the cause and deploy again"
    try:
        _abort(where, release.moves, echo, time.monotonic() + timeout)
        now = tier_state.read(where.client("elasticbeanstalk"), where.application,
                            {m.tier: m.environment for m in release.moves})
        back = tuple(Move(m.tier, m.before.label, m.before) for m in release.moves
                     if m.before.label and now[m.tier].settled_on != m.before.label)
        moving = {b.tier for b in back}
        kept = [f"{m.tier} on {m.before.label}" for m in release.moves if m.before.label and m.tier not in moving]
        if kept:
            echo(f"untouched by the failure: {', '.join(kept)}")
        labels = " and ".join(f"{m.tier} on {m.label}" for m in back)
        if back:
            echo(f"rolling back: {labels}")
        cause = _apply(where, back, echo, time.monotonic() + timeout) if back else None
    except KeyboardInterrupt:
        cause = "interrupted (Ctrl-C)"
    except WaitTimeout:
        cause = f"not done within {timeout:g}s"
    everything = " and ".join(f"{m.tier} on {m.before.label}" for m in release.moves if m.before.label)
    if cause is None:
        return f"rolled back: {everything}, every instance, health Green"
    return (f"ROLLBACK FAILED ({cause}); the stage may run mixed versions: see eb_tools status {where.name}, "
            f"then eb_tools rollback {where.name} --label {release.moves[0].before.label}")


def _apply(where: StageTarget, moves: tuple[Move, ...], echo: Echo, deadline: float) -> str | None:
    """Update every environment of `moves` at once, follow them until Ready and verify; the first cause of
    failure, or None."""
    eb = where.client("elasticbeanstalk")
    feed = EventFeed(eb, where.application, datetime.now(UTC) - CLOCK_SKEW, {}, echo)
    started: dict[str, Move] = {}
    for move in moves:
        try:
            answer = eb.update_environment(ApplicationName=where.application, EnvironmentName=move.environment,
                                           VersionLabel=move.label)
        except ClientError as error:
            _abort(where, tuple(started.values()), echo, deadline)
            return f"{move.tier}: Elastic Beanstalk refused the update: {error.response['Error']['Message']}"
        request = answer["ResponseMetadata"]["RequestId"]
        started[request] = move
        feed.follow(request, move.tier)
        echo(f"  {move.tier}: updating {move.environment} to {move.label}")
    _follow(where, feed, started, echo, deadline)
    failed = [f"{started[r].tier}: {message}" for r, message in feed.errors.items()]
    if failed:
        return "; ".join(failed)
    return _verify(where, moves, deadline)


def _follow(where: StageTarget, feed: EventFeed, started: dict[str, Move], echo: Echo, deadline: float) -> None:
    """Follow every environment until Ready; once one tier has failed, abort the others' updates."""
    eb = where.client("elasticbeanstalk")

    def abort_others(envs: ebenv.Envs) -> None:
        failing = {started[r].environment for r in feed.errors}
        _abort_running(eb, [e for name, e in envs.items() if name not in failing], echo)

    ebenv.follow(eb, where.application, feed, {m.environment: m.tier for m in started.values()},
                 deadline - time.monotonic(), interval=where.target.poll_seconds, on_error=abort_others)


def _abort_running(eb: Any, envs: list[dict[str, Any]], echo: Echo) -> None:
    for env in envs:
        if env.get("Status") == "Updating" and env.get("AbortableOperationInProgress"):
            echo(f"  aborting the update of {env['EnvironmentName']}")
            with contextlib.suppress(ClientError):  # it finished meanwhile: the put-back redeploys it anyway
                eb.abort_environment_update(EnvironmentName=env["EnvironmentName"])


def _abort(where: StageTarget, moves: tuple[Move, ...], echo: Echo, deadline: float) -> None:
    """Abort the updates of `moves` still running and wait until their environments are Ready again."""
    if not moves:
        return
    eb = where.client("elasticbeanstalk")
    names = {m.environment: m.tier for m in moves}
    _abort_running(eb, list(describe(eb, where.application, list(names)).values()), echo)
    quiet = EventFeed(eb, where.application, datetime.now(UTC), {}, echo)  # the aborts' own events say nothing new
    ebenv.follow(eb, where.application, quiet, names, deadline - time.monotonic(),
                 interval=where.target.poll_seconds, what="Ready after abort")


def _verify(where: StageTarget, moves: tuple[Move, ...], deadline: float) -> str | None:
    """Each moved environment names its label, every instance runs it, health Green (allowing enhanced
    health its time to report); the problem, or None."""
    eb = where.client("elasticbeanstalk")
    wanted = {m.tier: m.label for m in moves}
    names = {m.tier: m.environment for m in moves}
    grace = min(deadline, time.monotonic() + HEALTH_GRACE)
    found: list[str] = []

    def judged() -> str:
        states = tier_state.read(eb, where.application, names, causes=True)
        found[:] = [p for p in (_problem(states[tier], label) for tier, label in wanted.items()) if p]
        if not found:
            return "ok"
        # A wrong label or a mixed environment will not change by waiting; health may.
        final = any(s.label != wanted[t] or (s.instances and not s.uniform) for t, s in states.items())
        return "; ".join(found) if final else ""

    try:
        verdict = wait_until(judged, max(0.0, grace - time.monotonic()), "health Green",
                             interval=where.target.poll_seconds)
    except WaitTimeout:
        return "; ".join(found)
    return None if verdict == "ok" else verdict


def _problem(state: TierState, label: str) -> str | None:
    if state.label != label:
        return f"{state.tier}: {state.environment} names version {state.label}, not {label}"
    behind = {lab: n for lab, n in state.instances.items() if lab != label}
    if behind or not state.instances:
        total = sum(state.instances.values())
        return f"{state.tier}: {sum(behind.values())} of {total} instances run another version than {label}"
    if state.health != "Green":
        causes = f": {'; '.join(state.causes)}" if state.causes else ""
        return f"{state.tier}: health {state.health} ({state.health_status}){causes}"
    return None


def swap(where: StageTarget, live: str, idle: str, echo: Echo, timeout: float) -> None:
    """Give `idle` the URL of `live` (SwapEnvironmentCNAMEs) and wait until EB says so and both are Ready."""
    eb = where.client("elasticbeanstalk")
    answer = eb.swap_environment_cnames(SourceEnvironmentName=live, DestinationEnvironmentName=idle)
    feed = EventFeed(eb, where.application, datetime.now(UTC) - CLOCK_SKEW,
                     {answer["ResponseMetadata"]["RequestId"]: "swap"}, echo)
    url = str(describe(eb, where.application, [live])[live].get("CNAME", ""))
    ebenv.follow(eb, where.application, feed, {live: live, idle: idle}, timeout, interval=where.target.poll_seconds,
                 until=lambda envs: envs[idle].get("CNAME") != url, what=f"Ready, {idle} with the URL of {live}")


def smoke(url: str, echo: Echo) -> str | None:
    """GET `url` until it answers 200 (within SMOKE_TIMEOUT); the problem, or None. Skipped, with a note,
    when its host does not resolve from here (a private load balancer, or the local cloud's names)."""
    host = urlsplit(url).hostname or ""
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        echo(f"  smoke test skipped: {host} does not resolve from here")
        return None
    last = ""

    def healthy() -> bool:
        nonlocal last
        try:
            answer = requests.get(url, timeout=10)
        except requests.RequestException as error:
            last = f"no answer ({type(error).__name__})"
            return False
        last = f"HTTP {answer.status_code}: {answer.text[:120].strip()}"
        return answer.status_code == 200

    try:
        wait_until(healthy, SMOKE_TIMEOUT, f"{url} answering 200", interval=1.0)
    except WaitTimeout:
        return f"smoke test {url}: {last}"
    echo(f"  smoke test {url}: 200")
    return None
