"""No-op tasks per second through the worker app, against a bare Flask endpoint.

Both run under the project's gunicorn.conf.py with the same workers and threads;
the worker app does what it does for every real message (sqsd header check,
envelope validation, ledger claim and finish on a real MariaDB). Traffic goes to
127.0.0.1 only, a fixed number of requests from a few client threads.

    .venv/bin/python benchmarks/worker_throughput.py [--requests 2000] [--clients 8] [--rounds 3]
        [--before TREE]   # also serve an earlier commit's worker app: git archive COMMIT | tar -x -C TREE

The "claim + finish, nothing else" line is the least a task with the ledger's guarantee must do: the claim (an
INSERT committed before the task runs) and the finish (an UPDATE committed before the 200) through bare PyMySQL,
in a bare Flask route: no sqsd check, envelope, argument check, pool or JSON answer. The worker app cannot beat
it, so it says where this machine's floor is. The load generator is Python (requests, 8 threads): it takes about
1 ms of CPU per request and one core at most (the GIL), so it sets the bare POST's pace, and req/s swings by
10% between rounds and runs; the CPU per task of the app (its gunicorn's processes) and of MariaDB, from /proc,
hardly moves.

History (issue 18): 0.50x at the start (257 against 518 req/s, one run). A profile (cProfile of the app, and
counting PyMySQL commands) showed eight database round trips per task: for the claim and for the finish each a
pool pre-ping, the statement, COMMIT and the pool's ROLLBACK on return, plus an ORM unit of work each; and
inspect.signature/get_type_hints per delivery. First pass: the ledger's statements compiled once, in
autocommit, on a pool without pre-ping or reset (worker/ledger.py: one round trip each), a handler's signature
read once (worker/registry.py): 0.75-0.81x, app CPU 1.15 ms per task. Second pass: sqsd's headers read from the
WSGI environ, not werkzeug's Headers (13 -> 3 us), the ledger's statements rendered with the driver's escape().
Third pass (2026-12-07): gunicorn recycles a process by memory, not every 2,000 requests (core/recycling.py): a
recycled worker app boots in ~0.4 s of CPU, 0.2 ms per task.

Measured 2026-12-07, quiet machine, `--rounds 5 --before TREE` (TREE: commit 7f726f0, before the third pass),
four runs, medians of 5 rounds each:

    bare Flask POST                 1080 1143 1157 1122 req/s            app CPU 0.45-0.49 ms per request
    claim + finish, nothing else    0.90x 0.86x 0.82x 0.86x              0.67-0.69 ms, MariaDB 0.20-0.21
    worker app, no-op task          0.84x 0.75x 0.75x 0.78x              0.87-0.94 ms, MariaDB 0.22
    worker app, before              0.82x 0.73x 0.84x 0.73x              1.02-1.09 ms, MariaDB 0.21-0.23

The third pass took 0.1-0.2 ms of CPU off each task; req/s cannot show it through this generator's noise. The
goal, 0.8x, sits inside that noise, between the app (0.75-0.84x) and the floor (0.82-0.90x): what separates
them is 0.2 ms of CPU per task (in-process, single thread: 0.37 ms against the floor's 0.21 and the bare
POST's 0.05). Up to 0.08 ms of it is the ledger's wrapper around its two statements, the pool's checkout and
return and the rendering (the app with the floor's raw statements in its place: 0.34 against 0.42); a connection
kept per thread instead of a checkout per statement won back 0.03 in-process and 0.02 under gunicorn, too little
to keep. The sqsd check, envelope, argument check and JSON answer cost 2-7 us each measured alone, and cProfile
spreads the rest over Flask's request context, the before-request hook and the response. The C
driver mysqlclient would hardly help the ledger's writes (an UPDATE 38 -> 36 us of CPU; reads gain more: a
12-column row 107 -> 41 us) and needs a compiler and MariaDB's headers on every instance; the ledger's two
round trips are the guarantee itself.
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

from benchmarks.process_cpu import cpu_seconds  # noqa: E402
from core import db, migrate  # noqa: E402
from core.queue import Envelope  # noqa: E402
from core.settings import Settings  # noqa: E402
from eb_tools.aws import WaitTimeout, wait_until  # noqa: E402
from eb_tools.cloud.server import free_port  # noqa: E402
from tests.servers import MariaDBServer, stop_process  # noqa: E402
from tests.sqsd_client import sqsd_headers  # noqa: E402

BEFORE = ("0.50x at the start of issue 18 (257 vs 518 req/s); 0.73-0.84x, app CPU 1.02-1.09 ms per task, before "
          "its third pass (the docstring; --before TREE measures an earlier commit in the same run)")


def serve(target: str, env: dict[str, str], root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """gunicorn with `root`'s gunicorn.conf.py serving `target` from `root`."""
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen([str(gunicorn), "--config", "gunicorn.conf.py", target], cwd=root,
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
    parser.add_argument("--workers", default="2", help="gunicorn workers for every app")
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also serve the worker app (its code and gunicorn.conf.py) from TREE, e.g. an earlier "
                             "commit unpacked with `git archive COMMIT | tar -x -C TREE`: before and after in one run")
    args = parser.parse_args()
    apps = [("bare Flask POST", "benchmarks.noop_apps:bare_app()", ROOT),
            ("claim + finish, nothing else", "benchmarks.noop_apps:ledger_floor()", ROOT),
            ("worker app, no-op task", "benchmarks.noop_apps:worker_app()", ROOT)]
    if args.before:
        apps.append(("worker app, before", "benchmarks.noop_apps:worker_app()", args.before.resolve()))
    rates: dict[str, list[float]] = {name: [] for name, _, _ in apps}
    app_cpu: dict[str, list[float]] = {name: [] for name, _, _ in apps}  # ms per request, each round
    db_cpu: dict[str, list[float]] = {name: [] for name, _, _ in apps}
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
            for name, target, root in apps:
                proc, url = serve(target, env, root)
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
    print(f"{'endpoint':<28} | {'requests':>8} | {'req/s per round':>22} | {'median':>6} | {'vs bare':>7} | "
          f"{'app CPU ms/req':>14} | {'MariaDB CPU ms/req':>18}")
    print("-" * 128)
    for name, _, _ in apps:
        median = statistics.median(rates[name])
        rounds = " ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"{name:<28} | {args.requests:>8} | {rounds:>22} | {median:6.0f} | {median / bare:6.2f}x | "
              f"{statistics.median(app_cpu[name]):14.2f} | {statistics.median(db_cpu[name]):18.2f}")
    if not args.before:
        print(f"before: {BEFORE}")


if __name__ == "__main__":
    main()
