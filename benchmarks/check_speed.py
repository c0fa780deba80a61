"""`eb_tools check` on this repository against the floor of any eb_tools command.

The target is well under one second for the whole check of this repository. The
baseline is `eb_tools --version` (interpreter start-up and click), measured in the
same run, so the ratio shows what the checking itself costs on this machine. For
comparison, a bundle with `Resources` (one of the real-world corpus's files), which
also imports and runs cfn-lint on the template EB would deploy.

    .venv/bin/python benchmarks/check_speed.py [--runs 7]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EB_TOOLS = str(Path(sys.executable).parent / "eb_tools")
CLEAN_BUNDLE = ROOT / "tests" / "bundles" / "clean"
WITH_RESOURCES = ROOT / "tests" / "ebextensions_corpus" / "samples-autoscaling-memory-utilization-cwagent.config"


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
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        shutil.copytree(CLEAN_BUNDLE, bundle)
        shutil.copy(WITH_RESOURCES, bundle / ".ebextensions" / WITH_RESOURCES.name)
        resources = timed([EB_TOOLS, "check", str(bundle)], args.runs)
    print(f"{'command':<36} | {'median s':>8} | {'vs baseline':>11}")
    print("-" * 62)
    print(f"{'eb_tools --version':<36} | {base:8.3f} | {1:10.2f}x")
    print(f"{'eb_tools check (this repo)':<36} | {check:8.3f} | {check / base:10.2f}x")
    print(f"{'eb_tools check (bundle + Resources)':<36} | {resources:8.3f} | {resources / base:10.2f}x")
    print(f"target (this repo): under 1.000 s -> {'met' if check < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
