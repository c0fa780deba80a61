"""Deploy and promote of both tiers against `eb deploy` twice: time in units of one environment's update, and
EB API calls.

Both environments of two stages take the same simulated time T per update (the local cloud's EB step, with
the AllAtOnce policy so one update is one step). The baseline, measured in the same run, is T itself: one
environment updated alone, as `eb deploy` does it (UpdateEnvironment, then DescribeEnvironments and
DescribeEvents until Ready). "eb deploy twice" updates web, then worker. eb_tools deploy and promote update
both at once, then verify every instance; the target is 1.1 T.

    .venv/bin/python benchmarks/promote.py [--seconds 2] [--runs 3]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from eb_tools.aws import local_session, wait_until  # noqa: E402
from eb_tools.cloud.server import LocalCloud  # noqa: E402
from eb_tools.provision import command  # noqa: E402
from eb_tools.release import versions  # noqa: E402
from eb_tools.release.deploy import Built, deliver, prepare  # noqa: E402
from eb_tools.release.promote import promote  # noqa: E402
from eb_tools.stage.target import StageTarget, resolve  # noqa: E402

STAGES = """
application: bench
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  first:
    isolation: first
    web: {instance_type: t3.micro, min: 2, max: 2}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@first.example.com}
    alarm_email: ops@example.com
  second:
    isolation: second
    web: {instance_type: t3.micro, min: 2, max: 2}
    worker: {instance_type: t3.micro, min: 1, max: 1}
    plain_http: true
    mail: {from: no-reply@second.example.com}
    alarm_email: ops@example.com
"""
POLL = 0.05


class Calls(Counter[str]):
    """EB API calls made through a session, by operation."""

    def __call__(self, event_name: str, **_: Any) -> None:
        self[event_name.rsplit(".", 1)[-1]] += 1


def _quiet(line: str) -> None:
    pass


def eb_deploy(where: StageTarget, tiers: list[str], label: str) -> None:
    """What the eb CLI does per environment: update, then poll events and status until Ready; one after the other."""
    eb = where.client("elasticbeanstalk")
    for tier in tiers:
        name = where.environments[tier]
        started = datetime.now(UTC)
        eb.update_environment(EnvironmentName=name, VersionLabel=label)

        def ready(env: str = name, since: datetime = started) -> bool:
            eb.describe_events(EnvironmentName=env, StartTime=since)
            return bool(eb.describe_environments(EnvironmentNames=[env])["Environments"][0]["Status"] == "Ready")

        wait_until(ready, 120, f"{name} Ready", interval=POLL)


def measure(action: Callable[[], object], calls: Calls) -> tuple[float, int]:
    calls.clear()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started, sum(calls.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="T: the simulated time of one update")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eb-tools-bench-"))
    root = work / "app"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv*", ".local", ".git", "tests", "__pycache__",
                                                              ".elasticbeanstalk", "benchmarks"))
    (work / "eb_tools.yaml").write_text(STAGES)
    cloud = LocalCloud(eb_transition_seconds=0.05).start()
    session = local_session("us-east-1")
    calls = Calls()
    session.events.register("before-call.elasticbeanstalk", calls)
    try:
        for name in ("first", "second"):
            command.provision(work / "eb_tools.yaml", name, yes=True, echo=_quiet, session=session,
                              endpoint_url=cloud.url, web_origin="http://127.0.0.1:8000", poll_seconds=POLL)
        first, second = resolve(work / "eb_tools.yaml", ["first", "second"],
                                sessions={"first": session, "second": session}, endpoint_url=cloud.url,
                                poll_seconds=POLL)
        for where in (first, second):
            for name in where.environments.values():
                where.client("elasticbeanstalk").update_environment(EnvironmentName=name, OptionSettings=[
                    {"Namespace": "aws:elasticbeanstalk:command", "OptionName": "DeploymentPolicy",
                     "Value": "AllAtOnce"}])
        cloud.eb_transition_seconds = args.seconds
        counter = iter(range(10_000))

        def build() -> Built:
            (root / "release-marker.txt").write_text(str(next(counter)))
            built = prepare(root, work / "bundles", working_tree=True)
            versions.register(first, built.label, built.data, built.description)
            return built

        time.sleep(args.seconds * 2)  # the option updates above settle
        rows: dict[str, list[tuple[float, int]]] = {}
        for _ in range(args.runs):
            built = build()
            rows.setdefault("one environment, eb deploy (T)", []).append(
                measure(partial(eb_deploy, first, ["web"], built.label), calls))
            built = build()
            rows.setdefault("web then worker, eb deploy twice", []).append(
                measure(partial(eb_deploy, first, ["web", "worker"], built.label), calls))
            built = build()
            rows.setdefault("eb_tools deploy (both, verified)", []).append(
                measure(partial(deliver, first, built, _quiet, smoke=""), calls))
            rows.setdefault("eb_tools promote (both, verified)", []).append(
                measure(partial(promote, first, second, _quiet, smoke=""), calls))
    finally:
        cloud.stop()
        shutil.rmtree(work, ignore_errors=True)
    baseline = statistics.median(seconds for seconds, _ in rows["one environment, eb deploy (T)"])
    print(f"T = one environment's update, {args.seconds:g} s simulated; median of {args.runs} runs")
    print(f"{'release of web and worker':<36} {'median s':>9} {'x T':>6} {'EB calls':>9}")
    for name, results in rows.items():
        seconds = statistics.median(s for s, _ in results)
        api = statistics.median(n for _, n in results)
        print(f"{name:<36} {seconds:>9.2f} {seconds / baseline:>5.2f}x {api:>9.0f}")


if __name__ == "__main__":
    main()
