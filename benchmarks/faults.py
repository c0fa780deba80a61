"""Faults under load, measured: every scenario of tests/chaos in its long form, one results table.

Each scenario starts its own real servers (MariaDB, Redis, nginx, gunicorn, the local cloud) on free ports,
breaks one part under a bounded load from 127.0.0.1, and reports rows of (measure, value, goal). The table
is printed and written to benchmarks/results/faults.md, which the README links: the figures of the last run.
Exits 1 when a row misses its goal, so `make bench` fails as the short forms fail `make test`.

    .venv/bin/python benchmarks/faults.py [--short] [--only worker_kills,redis_down]
"""
from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos.report import Row, failures  # noqa: E402

# The scenario modules of tests/chaos, in the order of issue 18's Deliver list.
SCENARIOS = ("worker_kills", "web_failover", "database_failover", "redis_down", "storage_down")
RESULTS = ROOT / "benchmarks" / "results" / "faults.md"
HEADER = ("scenario", "measure", "value", "goal", "")


def run(names: list[str], long: bool) -> tuple[list[Row], dict[str, float]]:
    """Every scenario's rows and wall time; a scenario that crashes is one missed row, not the end."""
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name in names:
        module = importlib.import_module(f"tests.chaos.{name}")
        print(f"== {name} ({'long' if long else 'short'} form)", flush=True)
        started = time.monotonic()
        try:
            rows.extend(module.run(long=long))
        except Exception as error:  # report it in the table and go on with the others
            traceback.print_exc()
            rows.append(Row(name, "scenario ran to its end", f"{type(error).__name__}", "yes", False))
        seconds[name] = time.monotonic() - started
    return rows, seconds


def markdown(rows: list[Row], seconds: dict[str, float], long: bool) -> str:
    lines = [
        "# Faults under load: results of the last run",
        "",
        f"`benchmarks/faults.py{'' if long else ' --short'}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, Python {platform.python_version()}, this machine's 2 cores shared by every "
        "process of the run (servers, apps, load generator). Scenarios: tests/chaos/.",
        "",
        "| " + " | ".join(HEADER[:4]) + " | met |",
        "|---|---|---:|---:|---|",
        *(f"| {row.scenario} | {row.measure} | {row.value} | {row.goal} | {'yes' if row.ok else '**no**'} |"
          for row in rows),
        "",
        "Wall time per scenario: " + ", ".join(f"{name} {secs:.0f} s" for name, secs in seconds.items()) + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the short forms, as make test runs them")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenario names")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    rows, seconds = run(names, long=not args.short)
    print()
    print(Row(*HEADER[:4], ok=True).line().removesuffix("ok"))
    for row in rows:
        print(row.line())
    if names == list(SCENARIOS):  # only a whole run replaces the figures the README links
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(markdown(rows, seconds, long=not args.short))
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    missed = failures(rows)
    if missed:
        print(f"\n{len(missed)} row(s) missed their goal", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
