"""`make up`'s start-up: `eb_tools local` until the web app answers, against the app alone.

`eb_tools local` provisions the local stage through the same CloudFormation
templates and change sets as any stage, registers and deploys the working tree,
then starts both tiers and nginx. The baseline, measured in the same run, is the
part no local run can skip: the Procfile's gunicorn serving the web app until
/healthz answers. The ratio is what the emulated cloud and the stage cost.

    .venv/bin/python benchmarks/local_startup.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from eb_tools.aws import wait_until  # noqa: E402
from eb_tools.cloud.server import free_port  # noqa: E402
from eb_tools.formats import procfile  # noqa: E402

BIN = Path(sys.executable).parent


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"{process.args} exited with {process.returncode}")
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def time_to_healthy(argv: list[str], port: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz", process), 120, "healthz", interval=0.05)
        return time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def local(data_dir: str) -> float:
    port = free_port()
    return time_to_healthy([str(BIN / "eb_tools"), "local", "--port", str(port), "--cloud-port", str(free_port()),
                            "--data-dir", data_dir], port, dict(os.environ))


def app_alone(data_dir: str) -> float:
    port = free_port()
    argv = procfile.load(ROOT).command("web")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "LOCAL_DATA_DIR": data_dir,
           "SECRET_KEY": "benchmark", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    return time_to_healthy([str(BIN / argv[0]), *argv[1:]], port, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = {}
    for name, start in (("web app alone (baseline)", app_alone), ("eb_tools local, a new stage", local)):
        results[name] = statistics.median(start(tempfile.mkdtemp(prefix="eb-tools-bench-")) for _ in range(runs))
    baseline = results["web app alone (baseline)"]
    print(f"{'start-up until /healthz answers':<34} {'median s':>9} {'ratio':>7}")
    for name, seconds in results.items():
        print(f"{name:<34} {seconds:>9.2f} {seconds / baseline:>6.1f}x")


if __name__ == "__main__":
    main()
