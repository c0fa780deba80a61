"""The web path's cost: a logged-in page and /healthz against a bare Flask "hello", through nginx and gunicorn.

The logged-in page is the uploads page (web/uploads.py): the session read from Redis, one upload row
read through the reader engine from MariaDB, the template rendered with its CSRF token. Each app runs
under the project's gunicorn.conf.py with the same settings (its default worker count for this
machine, gthread, 4 threads), behind nginx with the bundle's .platform/nginx config
(tests/chaos/nginx_upstream.py), at 8 and 32 concurrent keep-alive connections from 127.0.0.1. Goals
(issue 18): the page at least 0.5x the bare app's requests per second, p99 under 25 ms at 32 connections.

The load generator is wrk when installed (Debian: `apt-get install wrk`), else a Python one (threads,
http.client keep-alive), which on 2 cores is itself a bottleneck: the "generator ceiling" line (nginx
answering a fixed 200 by itself) says how far the generator reaches, so a bare-app figure close to it
means the generator, not the app, set the pace.

    .venv/bin/python benchmarks/web_path.py [--seconds 10] [--connections 8,32] [--generator auto]
        [--before TREE]   # also serve an earlier commit's app: git archive COMMIT | tar -x -C TREE

The "session + row, nothing else" line is the least any implementation of this page must do: the session's
Redis GET and one row through bare redis-py and PyMySQL, a few bytes answered; no template, CSRF token, session
interface, ORM or engine. The page cannot beat it, so it says where this machine's floor is.

Measured 2026-12-07 on a quiet machine (load under 1), `--seconds 8 --before TREE` (TREE: commit 7f726f0, the
end of issue 18's first pass), wrk, which reached 110,000-180,000 req/s against nginx alone:

    each cell: 8 | 32 connections   req/s         vs bare        p99 ms        app CPU ms/req
    bare Flask hello               2932 | 3303                    8.1 | 23.0    0.48 | 0.43
    session + row, nothing else    1666 | 1788   0.57 | 0.54     11.9 | 42.1    0.81 | 0.76
    logged-in page                 1007 | 1021   0.34 | 0.31     19.0 | 67.8    1.46 | 1.45
    logged-in page, before          884 |  829   0.30 | 0.25     19.3 | 79.7    1.74 | 1.85
    /healthz                       2262 | 2266   0.77 | 0.69     10.0 | 33.6    0.66 | 0.66

This pass: the page's rows come from a Core statement built once with the 7 columns it shows (core/uploads.py),
not an ORM select(Upload) built per request (0.45 -> 0.19 ms of CPU per read in-process). The first pass
(2026-11-25, against commit 6e220cb; app CPU per page 2.6-4.2 -> 1.8-2.4 ms, /healthz 0.8-1.1 -> 0.6) removed,
measured one at a time: a Redis SET and a new cookie on every request (Flask-Session's refresh; web/sessions.py
renews once an hour), Flask-Limiter's lookups on requests no throttle applies to, three of the reader's four
round trips per query (pre-ping and two ROLLBACKs: core/db.py), gunicorn's access log beside nginx's, 5 web
processes on 2 cores (one per core now: 20-30% less CPU per request), and worker recycling by count
(core/recycling.py recycles by memory).

The goals are below this machine's floor. p99 under 25 ms at 32 connections: the floor line's p99 is 42 ms and
the bare hello's own 23 ms; by Little's law 32 connections need 1,280 req/s for a mean of 25 ms, which nothing
making the two round trips reached here. 0.5x the bare hello: the floor line itself makes 0.54-0.57x; 0.5x
leaves 0.09-0.16 ms of the machine's time per request beyond it (2 cores over 0.5x the hello's req/s, less 2
cores over the floor's), while, each measured alone in-process, the template with its CSRF token takes 0.14 ms,
the reader engine 0.07 over the bare driver's query (0.157 against 0.084), and the session interface, the
before- and after-request hooks about 0.14 (0.075, 0.029, 0.033). The whole page is 0.93 ms in-process against
the floor line's 0.30 and the hello's 0.06; what the parts measured alone do not add up to is the cost of
running cache-cold after each round trip, which the floor line pays too.
"""
from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from flask import Flask, request  # noqa: E402

from benchmarks.process_cpu import cpu_seconds  # noqa: E402


def bare_hello() -> Flask:
    """The floor: Flask answering a GET with a short text, nothing else."""
    app = Flask("bare")

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app



def session_and_row() -> Flask:
    """The least any implementation of the logged-in page must do, with nothing of the app's: the session's
    Redis GET and one row (the newest upload) from MariaDB through bare redis-py and PyMySQL (a connection per
    thread, kept), answered as a few bytes of text. The page at 0.5x the bare hello cannot beat this line."""
    import redis

    from benchmarks.noop_apps import kept_connection
    from core.settings import Settings

    settings = Settings.from_env()
    connection = kept_connection(settings.database_url)
    store = redis.Redis.from_url(settings.redis_url or "")
    app = Flask("floor")

    @app.get("/uploads")
    def page() -> str:
        stored = store.get(f"session:{request.cookies.get('session', '')}")
        with connection().cursor() as cursor:
            cursor.execute("SELECT id, filename, state FROM uploads ORDER BY id DESC LIMIT 1")
            row = cursor.fetchone()
        return f"{len(stored or b'')} {row}"

    return app


@dataclass(frozen=True)
class Measure:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms: float = float("nan")  # the app's gunicorn processes' CPU time per request


def serve(target: str, env: dict[str, str], log: Path, root: Path = ROOT) -> tuple[subprocess.Popen, int]:
    """One gunicorn with the project's config serving `target`; waits until it answers."""
    from eb_tools.aws import wait_until
    from eb_tools.cloud.server import free_port

    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", target], cwd=root,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)

    def answering() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn {target} exited with {proc.returncode}; see {log}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code < 500
        except requests.RequestException:
            return False

    wait_until(answering, 60, f"gunicorn {target} answering", interval=0.1)
    return proc, port


def wrk(url: str, connections: int, seconds: float, cookie: str | None) -> Measure:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "5s",
               *(["-H", f"Cookie: {cookie}"] if cookie else []), url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Measure(rate, _ms(percentiles["50"]), _ms(percentiles["99"]),
                   errors + (int(non_2xx.group(1)) if non_2xx else 0), total)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def python_load(url: str, connections: int, seconds: float, cookie: str | None) -> Measure:
    """Threads, one keep-alive http.client connection each: the fallback when wrk is not installed."""
    parts = urlsplit(url)
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def client() -> None:
        mine: list[float] = []
        failed = 0
        conn = http.client.HTTPConnection(parts.netloc, timeout=5)
        while (started := time.perf_counter()) and time.monotonic() < until:
            try:
                conn.request("GET", parts.path or "/", headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.netloc, timeout=5)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    pick = lambda fraction: latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000  # noqa: E731
    return Measure(len(latencies) / elapsed, pick(0.5), pick(0.99), errors[0], len(latencies))


def logged_in_cookie(base: str, env: dict[str, str]) -> str:
    """Log in through the real form; give the account one ready upload, so the page reads one row."""
    from core import db
    from core.models import Upload, User
    from core.settings import Settings
    from tests.chaos.app_stage import logged_in_browser

    browser, _token = logged_in_browser(base, env["DATABASE_URL"])
    database = db.from_settings(Settings.from_env(env))
    with database.write() as session:
        user = session.query(User).one()
        session.add(Upload(user_id=user.id, s3_key=f"uploads/{user.id}/bench.png", filename="bench.png",
                           content_type="image/png", state=Upload.READY, size=1234, variant_widths="800,200"))
    database.dispose()
    page = browser.get(f"{base}/uploads", allow_redirects=False, timeout=10)
    if page.status_code != 200 or "bench.png" not in page.text:
        raise SystemExit(f"the logged-in page answered {page.status_code} without the upload")
    return f"session={browser.cookies['session']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", default="8,32")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also serve the app (its code and gunicorn.conf.py) from TREE, e.g. an earlier commit "
                             "unpacked with `git archive COMMIT | tar -x -C TREE`: before and after in one run")
    args = parser.parse_args()
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk") is not None)
    if args.generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed: apt-get install wrk, or --generator python")
    generate = wrk if use_wrk else python_load
    levels = [int(n) for n in args.connections.split(",")]

    from core import db, migrate
    from core.settings import Settings
    from tests.chaos.app_stage import stage_env
    from tests.chaos.nginx_upstream import Nginx
    from tests.servers import MariaDBServer, RedisServer, stop_process

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-web-")))
        mariadb = MariaDBServer(tmp / "db").start()
        stack.callback(mariadb.stop)
        redis = RedisServer(tmp / "redis").start()
        stack.callback(redis.stop)
        env = {**os.environ, **stage_env(mariadb.create_database("bench"), redis.url, "http://127.0.0.1:9",
                                         tmp / "data", TRUSTED_PROXIES="1", LOG_LEVEL="INFO")}
        database = db.from_settings(Settings.from_env(env))
        migrate.upgrade(database)
        database.dispose()

        fronts, groups = {}, {}
        apps = [("bare", "benchmarks.web_path:bare_hello()", ROOT), ("app", "wsgi:application", ROOT),
                ("floor", "benchmarks.web_path:session_and_row()", ROOT)]
        if args.before:
            apps.append(("before", "wsgi:application", args.before.resolve()))
        for name, target, root in apps:
            proc, port = serve(target, env, tmp / f"{name}.log", root)
            stack.callback(stop_process, proc, 30)
            nginx = Nginx(tmp / f"nginx-{name}", [f"127.0.0.1:{port}"], log_upstreams=False,
                          answer_itself=name == "bare").start()
            stack.callback(nginx.stop)
            fronts[name], groups[name] = nginx, proc.pid
        cookie = logged_in_cookie(fronts["app"].url, env)
        lines = [
            ("generator ceiling (nginx alone)", f"http://127.0.0.1:{fronts['bare'].fixed_port}/", None, None),
            ("bare Flask hello", f"{fronts['bare'].url}/", None, groups["bare"]),
            ("session + row, nothing else", f"{fronts['floor'].url}/uploads", cookie, groups["floor"]),
            ("logged-in page (/uploads)", f"{fronts['app'].url}/uploads", cookie, groups["app"]),
            ("/healthz", f"{fronts['app'].url}/healthz", None, groups["app"]),
        ]
        if args.before:  # the same account and session: one Redis, one database, one SECRET_KEY
            lines += [("logged-in page, before", f"{fronts['before'].url}/uploads", cookie, groups["before"]),
                      ("/healthz, before", f"{fronts['before'].url}/healthz", None, groups["before"])]
        results: dict[tuple[str, int], Measure] = {}
        for connections in levels:
            for name, url, with_cookie, group in lines:
                generate(url, connections, min(2.0, args.seconds), with_cookie)  # warm up pools and caches
                cpu = cpu_seconds(group, group=True) if group else 0.0
                measure = generate(url, connections, args.seconds, with_cookie)
                if group:
                    cpu_ms = (cpu_seconds(group, group=True) - cpu) * 1000 / max(1, measure.requests)
                    measure = dataclasses.replace(measure, cpu_ms=cpu_ms)
                results[(name, connections)] = measure

    print(f"generator: {'wrk' if use_wrk else 'Python threads'}, {args.seconds:.0f} s per line, "
          f"gunicorn workers {env.get('GUNICORN_WORKERS', 'as each gunicorn.conf.py sets them')}, "
          f"{os.cpu_count()} cores\n")
    print(f"{'endpoint':<32} {'conns':>5} {'req/s':>8} {'vs bare':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'app CPU ms/req':>14}  goal")
    print("-" * 112)
    for connections in levels:
        bare = results[("bare Flask hello", connections)].requests_per_second
        for name, _url, _cookie, _group in lines:
            measure = results[(name, connections)]
            ratio = measure.requests_per_second / bare
            goal = ""
            if name.startswith("logged-in"):
                met = ratio >= 0.5 and (connections != 32 or measure.p99_ms < 25)
                goal = (">= 0.5x" + (", p99 < 25 ms" if connections == 32 else "")) + (" ok" if met else " MISSED")
            print(f"{name:<32} {connections:>5} {measure.requests_per_second:>8.0f} {ratio:>7.2f}x "
                  f"{measure.p50_ms:>7.1f} {measure.p99_ms:>7.1f} {measure.errors:>6} {measure.cpu_ms:>14.2f}  {goal}")


if __name__ == "__main__":
    main()
