"""`eb_tools check` on this repository against the floor of any eb_tools command.

The target is well under one second for the whole check. The baseline is
`eb_tools --version` (interpreter start-up and click), measured in the same run,
so the ratio shows what the checking itself costs on this machine.

    .venv/bin/python benchmarks/check_speed.py [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")


def timed(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=ROOT, capture_output=True)
        samples.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {result.returncode}: {result.stdout.decode()[-300:]}")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    base = timed([EB_TOOLS, "--version"], args.runs)
    check = timed([EB_TOOLS, "check", str(ROOT)], args.runs)
    print(f"{'command':<28} | {'median s':>8} | {'vs baseline':>11}")
    print("-" * 54)
    print(f"{'eb_tools --version':<28} | {base:8.3f} | {1:10.2f}x")
    print(f"{'eb_tools check (this repo)':<28} | {check:8.3f} | {check / base:10.2f}x")
    print(f"target: under 1.000 s -> {'met' if check < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
