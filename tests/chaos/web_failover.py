"""Web failover: one of two web processes SIGKILLed under a load of logged-in browsers.

Two gunicorns of the real app (the Procfile's, with gunicorn.conf.py) share one migrated MariaDB and one
Redis, behind nginx with both in its upstream (tests/chaos/nginx_upstream.py, the load balancer's
stand-in). Browsers sign up through the real forms, then loop on their uploads page (a session read from
Redis, a query on the reader engine). A third of the way in, the master and workers of one gunicorn get
SIGKILL, as when an instance dies. Measured: sessions still valid afterwards (they live in Redis, not in
the dead process), errors in the failover window (the kill and the 5 s after it) and after it, the
requests the killed process had served (so the kill did hit traffic), the requests nginx moved to the
survivor, and latency.

What this does not prove: an ALB's own failover across zones, its health-check timing (an instance is
taken out after HealthyThresholdCount/UnhealthyThresholdCount checks, not at the first refused
connection), or the time EB's Auto Scaling takes to replace the instance; only AWS can show those.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from core import db, migrate
from core.settings import Settings
from tests.chaos.app_stage import Gunicorn, logged_in_browser, stage_env
from tests.chaos.nginx_upstream import Nginx
from tests.chaos.report import Row
from tests.chaos.web_load import between, error_rate, failed, loop, percentile
from tests.servers import MariaDBServer, RedisServer

SCENARIO = "web: 1 of 2 killed"
WINDOW = 5.0  # seconds after the kill that count as the failover window
P99_GOAL = 1.0  # seconds: no request waits on the dead process (nginx's connect is refused at once)


def migrated_stage(stack: ExitStack, tmp: Path, aws_endpoint_url: str = "http://127.0.0.1:9",
                   **extra: str) -> tuple[dict[str, str], RedisServer]:
    """MariaDB with the app's schema and a Redis, stopped when the stack closes; the web environment
    (no AWS by default: the logged-in page makes no AWS call)."""
    mariadb = MariaDBServer(tmp / "db").start()
    stack.callback(mariadb.stop)
    redis = RedisServer(tmp / "redis").start()
    stack.callback(lambda: redis.stop())
    env = stage_env(mariadb.create_database("web"), redis.url, aws_endpoint_url, tmp / "data", **extra)
    database = db.from_settings(Settings.from_env(env))
    migrate.upgrade(database)
    database.dispose()
    return env, redis


def kill_tree(web: Gunicorn) -> None:
    """SIGKILL to the gunicorn master and its workers (one process group: started in a session of its own)."""
    assert web.process is not None
    os.killpg(web.process.pid, signal.SIGKILL)
    web.process.wait()


def run(long: bool) -> list[Row]:
    seconds, clients = (120.0, 16) if long else (20.0, 8)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-web-")))
        env, _redis = migrated_stage(stack, tmp, TRUSTED_PROXIES="1")
        webs = []
        for index in range(2):
            web = Gunicorn(env, tmp / f"web{index}.log").start()
            stack.callback(web.stop)
            webs.append(web)
        nginx = Nginx(tmp / "nginx", [f"127.0.0.1:{web.port}" for web in webs]).start()
        stack.callback(nginx.stop)
        browsers = [logged_in_browser(nginx.url, env["DATABASE_URL"])[0] for _ in range(clients)]
        page = f"{nginx.url}/uploads"

        victim = webs[0]
        killed: dict[str, float] = {}

        def kill() -> None:
            killed["wall"], killed["monotonic"] = time.time(), time.monotonic()
            kill_tree(victim)

        start = time.monotonic()
        timer = threading.Timer(seconds / 3, kill)
        timer.start()
        samples = loop(browsers, lambda _: page, start + seconds)
        timer.join()
        still_valid = sum(1 for browser in browsers if _logged_in(browser, page))
        log = nginx.upstream_log()

    at = killed["monotonic"]
    window, after = between(samples, at, at + WINDOW), between(samples, at + WINDOW, float("inf"))
    victim_address = f"127.0.0.1:{victim.port}"
    served_by_victim = sum(1 for when, status, tried in log
                           if when < killed["wall"] and tried[-1] == victim_address and status == 200)
    moved = sum(1 for _, _, tried in log if len(tried) > 1)
    latencies = [sample.seconds for sample in samples]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return [
        Row(SCENARIO, "sessions still valid afterwards", f"{still_valid}/{clients} "
            f"({100 * still_valid // clients}%)", "100%", still_valid == clients),
        Row(SCENARIO, "requests the killed process served before", str(served_by_victim), "> 0",
            served_by_victim > 0),
        Row(SCENARIO, f"errors in the failover window ({WINDOW:.0f} s)", error_rate(window), "0",
            failed(window) == 0 and bool(window)),
        Row(SCENARIO, "errors after the failover window", error_rate(after), "0", failed(after) == 0 and bool(after)),
        Row(SCENARIO, "requests nginx moved to the survivor", str(moved), "-", True),
        Row(SCENARIO, f"requests ({clients} browsers, {seconds:.0f} s)", str(len(samples)), "-", True),
        Row(SCENARIO, "latency p50 / p99", f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms",
            f"p99 < {P99_GOAL * 1000:.0f} ms", p99 < P99_GOAL),
    ]


def _logged_in(browser: requests.Session, page: str) -> bool:
    """Still the same account: the page answers 200 (a lost session redirects to the log-in page)."""
    try:
        return browser.get(page, allow_redirects=False, timeout=10).status_code == 200
    except requests.RequestException:
        return False
