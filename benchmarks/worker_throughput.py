"""No-op tasks per second through the worker app, against a bare Flask endpoint.

Both run under the project's gunicorn.conf.py with the same workers and threads;
the worker app does what it does for every real message (sqsd header check,
envelope validation, ledger claim and finish on a real MariaDB). Traffic goes to
127.0.0.1 only, a fixed number of requests from a few client threads.

    .venv/bin/python benchmarks/worker_throughput.py [--requests 2000] [--clients 8] [--rounds 3]

Before (issue 18): 0.50x (257 against 518 req/s, one run); at the start of the work on it 0.54x (333 against
614). A profile (cProfile of the app, and counting pymysql commands) showed eight database round trips per
task: for the claim and for the finish each a pool pre-ping, the statement, COMMIT and the pool's ROLLBACK on
return, plus an ORM unit of work each; and inspect.signature/get_type_hints per delivery. After: the ledger's
statements run compiled once, in autocommit, on a pool without pre-ping or reset (worker/ledger.py: one
round trip each, a statement finding its connection dead runs once more), and a handler's signature is read
once (worker/registry.py).

Then (issue 18, second pass), with each round's CPU time of the app's processes and of MariaDB per task (from
/proc; req/s on this shared 2-core machine swings by 20% between runs, CPU per task hardly): sqsd's headers
read from the WSGI environ, not werkzeug's Headers (13 -> 3 us), the ledger's statements rendered with the
driver's escape() and datetimes by isoformat. Same machine state, previous commit against this one, two runs
of 5 rounds each: 0.81x, 0.75x -> 0.80x, 0.76x; app CPU 1.15, 1.16 -> 1.04, 1.10 ms per task (bare 0.49-0.57),
MariaDB 0.20-0.22 ms. What is left (in-process, single thread): 0.38 ms of CPU per task against 0.04 for the
bare app, of which about 0.17 is the ledger's two round trips through PyMySQL (a round trip's floor in the
pure-Python driver is ~25 us; two are needed: the claim must be committed before the task runs, the finish
before sqsd is told 200) and 0.09 Flask's and the envelope's work; the load generator's own CPU (0.8 ms per
request) is shared by both apps. Preloading the app in gunicorn's master (--preload) moved neither the
median nor the CPU per task beyond the noise (a worker recycled every ~2,000 tasks costs 0.4 s of CPU to
boot, ~0.2 ms per task, but only in the rounds it lands in).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import db, migrate  # noqa: E402
from core.queue import Envelope  # noqa: E402
from core.settings import Settings  # noqa: E402
from eb_tools.aws import WaitTimeout, wait_until  # noqa: E402
from eb_tools.local.cloud import free_port  # noqa: E402
from tests.servers import MariaDBServer, stop_process  # noqa: E402
from tests.sqsd_client import sqsd_headers  # noqa: E402

BEFORE = ("0.50x in issue 18 (257 vs 518 req/s); 0.54x at the start of the first pass (333 vs 614); 0.75-0.81x, "
          "app CPU 1.15 ms per task, before the second pass")


def cpu_seconds(pid: int, group: bool) -> float:
    """User and system CPU time from /proc of `pid`, or of its process group (gunicorn's master and workers,
    recycled workers included through the master's cutime/cstime): unlike requests per second on a shared
    machine, it hardly moves with the neighbours' load."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat") if group else [Path(f"/proc/{pid}/stat")]:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # fields after "(comm)": state, ppid, pgrp, ..., utime [11], stime [12], cutime [13], cstime [14]
        if not group or int(fields[2]) == pid:
            total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if stat.parent.name
                                                          == str(pid) else 0)
    return total / os.sysconf("SC_CLK_TCK")


def serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen([str(gunicorn), "--config", "gunicorn.conf.py", target], cwd=ROOT,
                            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_LOG_LEVEL": "warning"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    def answers() -> bool:
        try:
            requests.get(url + "healthz", timeout=2)  # any answer: the bare app has no /healthz
            return True
        except requests.RequestException:  # not listening yet, or busy booting
            return False

    try:
        wait_until(answers, 30, f"gunicorn {target} answering", interval=0.1)
    except WaitTimeout as error:
        stop_process(proc, timeout=30)
        raise SystemExit(str(error)) from None
    return proc, url


def load(url: str, total: int, clients: int) -> float:
    """Send `total` distinct no-op messages; return seconds taken. Every answer must be 200."""
    bodies = [Envelope("bench.noop", {}).to_json() for _ in range(total)]
    failures: list[int] = []
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        session = requests.Session()
        for body in share:
            status = session.post(url, data=body, headers=sqsd_headers(str(uuid.uuid4())), timeout=30).status_code
            if status != 200:
                with lock:
                    failures.append(status)

    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per app; the median counts")
    parser.add_argument("--workers", default="2", help="gunicorn workers for both apps")
    args = parser.parse_args()
    apps = (("bare Flask POST", "benchmarks.noop_apps:bare_app()"),
            ("worker app, no-op task", "benchmarks.noop_apps:worker_app()"))
    rates: dict[str, list[float]] = {name: [] for name, _ in apps}
    app_cpu: dict[str, list[float]] = {name: [] for name, _ in apps}  # ms per request, each round
    db_cpu: dict[str, list[float]] = {name: [] for name, _ in apps}
    with tempfile.TemporaryDirectory() as tmp:
        mariadb = MariaDBServer(Path(tmp) / "db").start()
        assert mariadb.process is not None
        mariadb_pid = mariadb.process.pid
        servers: list[tuple[str, subprocess.Popen, str]] = []
        try:
            env = {**os.environ, "APP_ROLE": "worker", "STAGE": "bench", "SECRET_KEY": "bench",
                   "DATABASE_URL": mariadb.create_database("bench"), "GUNICORN_WORKERS": args.workers,
                   "LOCAL_DATA_DIR": tmp}
            database = db.from_settings(Settings.from_env(env))
            migrate.upgrade(database)
            database.dispose()
            for name, target in apps:
                proc, url = serve(target, env)
                servers.append((name, proc, url))
                load(url, min(200, args.requests), args.clients)  # warm up pools and imports
            for _ in range(args.rounds):  # alternating, so a noisy moment hits both apps alike
                for name, proc, url in servers:
                    app, database_cpu = cpu_seconds(proc.pid, group=True), cpu_seconds(mariadb_pid, group=False)
                    rates[name].append(args.requests / load(url, args.requests, args.clients))
                    app_cpu[name].append((cpu_seconds(proc.pid, group=True) - app) * 1000 / args.requests)
                    db_cpu[name].append((cpu_seconds(mariadb_pid, group=False) - database_cpu) * 1000 / args.requests)
        finally:
            for _name, proc, _url in servers:
                stop_process(proc, timeout=30)
            mariadb.stop()
    bare = statistics.median(rates[apps[0][0]])
    print(f"{'endpoint':<24} | {'requests':>8} | {'req/s per round':>22} | {'median':>6} | {'vs bare':>7} | "
          f"{'app CPU ms/req':>14} | {'MariaDB CPU ms/req':>18}")
    print("-" * 124)
    for name, _ in apps:
        median = statistics.median(rates[name])
        rounds = " ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"{name:<24} | {args.requests:>8} | {rounds:>22} | {median:6.0f} | {median / bare:6.2f}x | "
              f"{statistics.median(app_cpu[name]):14.2f} | {statistics.median(db_cpu[name]):18.2f}")
    print(f"before this change (its docstring): {BEFORE}")


if __name__ == "__main__":
    main()
