"""`make up`'s start-up and footprint: `eb_tools local` until both tiers answer, new and resumed, against the
app alone and against an earlier revision of eb_tools, measured in the same run.

`eb_tools local` provisions the local stage through the same CloudFormation templates and change sets as any
stage, registers and deploys the working tree to its instances (since issue 25 real ones: two web instances
and a worker, each deployed as the EB platform deploys, behind a load balancer). Since issue 25 the stage's
database and Redis are real servers (a MariaDB writer, its binary-log replica, a redis-server over TLS); the
revision given by --before (default: the last one with SQLite and file sessions) shows what that costs. The
baseline is the part no local run can skip: the Procfile's gunicorn serving the web app until /healthz
answers. The last column times `eb_tools deploy local` of the unchanged tree on the resumed stage (two web
instances and a worker, requirements unchanged). Memory is the resident total of every process of the running
stage (the run, its cloud, the data servers, the instances' gunicorn masters, workers and nginx, the load
balancer), read from /proc once both tiers answer.

    .venv/bin/python benchmarks/local_startup.py [--runs 3] [--before REV]
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, wait_until  # noqa: E402
from eb_tools.cloud.server import free_port  # noqa: E402
from eb_tools.formats import procfile  # noqa: E402
from tests.servers import descendants  # noqa: E402

BIN = Path(sys.executable).parent
BEFORE = "5d27502"  # the last revision whose local stage ran SQLite, file sessions and no data servers


@dataclass(frozen=True)
class Measured:
    seconds: float
    resident_mb: float
    deploy_seconds: float = 0.0  # `eb_tools deploy local` of the same tree (its requirements unchanged)


def _answers(url: str, process: subprocess.Popen[str], output: Path) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"{process.args} exited with {process.returncode}:\n{output.read_text()[-2000:]}")
    try:
        return requests.get(url, timeout=1).status_code == 200 and (
            "eb_tools" not in str(process.args) or "web app:" in output.read_text())
    except requests.RequestException:
        return False


def resident_mb(root: int) -> float:
    """The resident memory of process `root` and every process below it, in MiB, from /proc."""
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            status = (Path("/proc") / str(pid) / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


def measure(argv: list[str], port: int, env: dict[str, str], cwd: Path,
            deploy: Callable[[], float] | None = None) -> Measured:
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz", process, Path(log.name)), 180,
                       "healthz", interval=0.05)
            seconds = time.perf_counter() - started
            return Measured(seconds, resident_mb(process.pid), deploy() if deploy else 0.0)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def local(tree: Path, data_dir: str, deploy: bool = False) -> Measured:
    """`eb_tools local` of the working tree `tree` (this one, or an earlier revision's worktree); with `deploy`,
    then a deployment of the same tree to both environments, timed."""
    port, cloud_port = free_port(), free_port()
    argv = [sys.executable, "-c", "from eb_tools.cli import main; main()", "local", "--port", str(port),
            "--cloud-port", str(cloud_port), "--data-dir", data_dir]
    env = {**os.environ, "PYTHONPATH": str(tree)}

    def deployment() -> float:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "from eb_tools.cli import main; main()", "deploy", "local",
                               str(tree), "--working-tree", "--label", f"bench-{time.time_ns()}", "--file",
                               str(tree / "eb_tools.yaml")], cwd=tree,
                              env={**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{cloud_port}",
                                   "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY},
                              capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"eb_tools deploy failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        return time.perf_counter() - started

    return measure(argv, port, env, tree, deployment if deploy else None)


def app_alone(data_dir: str) -> Measured:
    port = free_port()
    argv = procfile.load(ROOT).command("web")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "LOCAL_DATA_DIR": data_dir,
           "SECRET_KEY": "benchmark", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    return measure([str(BIN / argv[0]), *argv[1:]], port, env, ROOT)


def new_and_resumed(tree: Path, runs: int, deploy: bool) -> tuple[Measured, Measured]:
    """Medians of a first start on an empty data folder and of a second start on the same folder (then, with
    `deploy`, a deployment of the unchanged tree: real instances since issue 25, so only this revision's)."""
    first, again = [], []
    for _ in range(runs):
        folder = tempfile.mkdtemp(prefix="eb-tools-bench-")
        first.append(local(tree, folder))
        again.append(local(tree, folder, deploy=deploy))
    return median(first), median(again)


def median(measured: list[Measured]) -> Measured:
    return Measured(statistics.median(m.seconds for m in measured), statistics.median(m.resident_mb for m in measured),
                    statistics.median(m.deploy_seconds for m in measured))


def worktree(revision: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="eb-tools-before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision], cwd=ROOT, check=True,
                   capture_output=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help="the earlier revision to compare with")
    arguments = parser.parse_args()
    before = worktree(arguments.before)
    try:
        baseline = median([app_alone(tempfile.mkdtemp(prefix="eb-tools-bench-")) for _ in range(arguments.runs)])
        old_new, old_resumed = new_and_resumed(before, arguments.runs, deploy=False)
        now_new, now_resumed = new_and_resumed(ROOT, arguments.runs, deploy=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, capture_output=True)
    print(f"{'until both tiers answer':<44} {'median s':>9} {'ratio':>7} {'resident MiB':>13} {'deploy s':>9}")
    for name, measured in (("web app alone (baseline, floor)", baseline),
                           (f"eb_tools local {arguments.before}, a new stage", old_new),
                           (f"eb_tools local {arguments.before}, resumed", old_resumed),
                           ("eb_tools local now, a new stage", now_new),
                           ("eb_tools local now, resumed", now_resumed)):
        deployed = f"{measured.deploy_seconds:>9.2f}" if measured.deploy_seconds else f"{'':>9}"
        print(f"{name:<44} {measured.seconds:>9.2f} {measured.seconds / baseline.seconds:>6.1f}x "
              f"{measured.resident_mb:>13.0f} {deployed}")


if __name__ == "__main__":
    main()
