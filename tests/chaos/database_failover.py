"""The database fails under load, as the web app sees it: a MariaDB restart, and a Multi-AZ failover.

The real web app (the Procfile's gunicorn, sessions in a real Redis) serves logged-in browsers on 127.0.0.1:
each reads its uploads page (the reader engine) and creates uploads (a write through the writer; the 201 with
the id is the acknowledgement). The database is reached through tests/chaos/tcp_proxy.py, the stand-in for
the RDS writer endpoint.

- restart: the server is stopped (SIGTERM, a clean shutdown) and started again on the same port; the app
  keeps running.
- failover: two servers, a primary and a standby fed by binary-log replication in semi-synchronous mode
  (AFTER_SYNC: a commit returns only once the standby has received it, which is RDS Multi-AZ's promise for
  acknowledged writes, there by synchronous block-level replication). The primary is SIGKILLed; for a
  moment the endpoint leads nowhere (the proxy holds connections silent, as a DNS name still pointing at a
  dead host does); the standby applies what it received, takes writes, and the endpoint leads to it, every
  old connection cut. RDS takes 60-120 s for this (AWS's documentation); here the silence lasts 20 s (60 s in
  the long form): longer than a browser waits, so a request that waits on the database without a bound of
  its own shows as hung. It tests the app's reaction, not AWS's timing.

Measured: time from the database being back to the first success (goal under 5 s), answers that were not
2xx during the outage (each must be a clear 503) and after it (none), requests without an answer within
the client's timeout (none), and acknowledged writes missing from the database afterwards (none).
"""
from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from core import db, migrate
from core.settings import Settings
from tests.chaos.app_stage import Gunicorn, signed_up_browser, stage_env
from tests.chaos.report import Row
from tests.chaos.tcp_proxy import TcpProxy
from tests.servers import MariaDBServer, RedisServer

CLIENTS = 4
# Seconds a browser waits. The app must answer within it even when the database never does: its driver's
# timeouts (core/db.py) end the wait, the request answers 503.
CLIENT_TIMEOUT = 15.0
PAUSE = 0.05  # between one browser's requests: a bounded load on a 2-core machine
RECOVERY_GOAL = 5.0
DATABASE = "app"


@dataclass(frozen=True)
class Call:
    kind: str  # "read" or "write"
    started: float
    ended: float
    status: int | None  # None: no answer within CLIENT_TIMEOUT


@dataclass
class Load:
    """Logged-in browsers reading and writing until stopped; every call and every acknowledged write kept."""

    base_url: str
    seed: int
    calls: list[Call] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # upload ids the app answered 201 for
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        browsers = [signed_up_browser(self.base_url) for _ in range(CLIENTS)]
        for index, (browser, token) in enumerate(browsers):
            thread = threading.Thread(target=self._run, args=(browser, token, random.Random(self.seed + index)),
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def _run(self, browser: requests.Session, token: str, rng: random.Random) -> None:
        while not self._stop.is_set():
            kind = "write" if rng.random() < 0.5 else "read"
            started = time.monotonic()
            status: int | None
            try:
                if kind == "read":
                    response = browser.get(f"{self.base_url}/uploads", timeout=(2, CLIENT_TIMEOUT),
                                           allow_redirects=False)
                else:
                    response = browser.post(
                        f"{self.base_url}/uploads", timeout=(2, CLIENT_TIMEOUT), headers={"X-CSRFToken": token},
                        json={"filename": "a.png", "content_type": "image/png", "size": rng.randint(1, 9999)})
                status = response.status_code
                if kind == "write" and status == 201:
                    with self._lock:
                        self.acknowledged.append(int(response.json()["id"]))
            except requests.RequestException:
                status = None
            with self._lock:
                self.calls.append(Call(kind, started, time.monotonic(), status))
            self._stop.wait(PAUSE)


@dataclass(frozen=True)
class Outage:
    down: float  # when the fault began
    back: float  # when the database could answer again


def measure(scenario: str, load: Load, outages: list[Outage], missing: int) -> list[Row]:
    """The rows of one scenario from its calls; 'after' starts at each outage's first success."""
    recoveries: list[float] = []
    during: list[Call] = []
    after: list[Call] = []
    calls = sorted(load.calls, key=lambda call: call.started)
    for index, outage in enumerate(outages):
        until = outages[index + 1].down if index + 1 < len(outages) else float("inf")
        first_ok = min((c.ended for c in calls if c.started >= outage.back and c.status and c.status < 400),
                       default=None)
        recovered = first_ok if first_ok is not None else until
        recoveries.append((first_ok - outage.back) if first_ok is not None else float("inf"))
        during += [c for c in calls if c.ended >= outage.down and c.started < recovered]
        after += [c for c in calls if recovered <= c.started < until]
    errors = [c for c in during if c.status is not None and c.status >= 400]
    unclear = [c for c in errors if c.status != 503]
    hung = [c for c in calls if c.status is None]
    slowest = max((c.ended - c.started for c in calls), default=0.0)
    recovery = max(recoveries, default=float("inf"))
    return [
        Row(scenario, "requests (reads and writes)", str(len(calls)), "-", bool(calls)),
        Row(scenario, "time to first success after DB back", f"{recovery:.2f} s", f"< {RECOVERY_GOAL:g} s",
            recovery < RECOVERY_GOAL),
        Row(scenario, "errors in outage window (503)", f"{len(errors) - len(unclear)}/{len(during)}", "any", True),
        Row(scenario, "errors in outage window, not 503", str(len(unclear)), "0", not unclear),
        Row(scenario, "errors after recovery", f"{sum(1 for c in after if c.status != 200 and c.status != 201)}"
            f"/{len(after)}", "0", all(c.status in (200, 201) for c in after)),
        Row(scenario, f"hung requests (no answer in {CLIENT_TIMEOUT:g} s)", str(len(hung)), "0", not hung),
        Row(scenario, "slowest answer", f"{slowest:.2f} s", f"< {CLIENT_TIMEOUT:g} s", slowest < CLIENT_TIMEOUT),
        Row(scenario, "acknowledged writes lost", f"{missing}/{len(load.acknowledged)}", "0", missing == 0),
    ]


def missing_writes(server: MariaDBServer, acknowledged: list[int]) -> int:
    """How many acknowledged upload ids the server does not have."""
    if not acknowledged:
        return 0
    with server.root() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id FROM `{DATABASE}`.uploads")
        present = {row[0] for row in cur.fetchall()}
    return len(set(acknowledged) - present)


def _serve(work: Path, proxy: TcpProxy, redis: RedisServer) -> Gunicorn:
    database_url = (f"mysql+pymysql://{MariaDBServer.USER}:{MariaDBServer.PASSWORD}@127.0.0.1:{proxy.port}/"
                    f"{DATABASE}?charset=utf8mb4")
    # No AWS call on these routes (presigning is local): an endpoint that answers nothing is enough.
    env = stage_env(database_url, redis.url, "http://127.0.0.1:9", work / "data")
    database = db.from_settings(Settings.from_env(env))
    migrate.upgrade(database)
    database.dispose()
    return Gunicorn(env, work / "web.log").start()


def _run_load(base_url: str, seconds: float, faults: list[float], fault: Callable[[], Outage],
              seed: int) -> tuple[Load, list[Outage]]:
    """Load for `seconds`; `fault` at each fraction of the run in `faults`."""
    load = Load(base_url, seed).start()
    began = time.monotonic()
    outages = []
    for at in faults:
        time.sleep(max(0.0, began + seconds * at - time.monotonic()))
        outages.append(fault())
    time.sleep(max(0.0, began + seconds - time.monotonic()))
    load.stop()
    return load, outages


def restart_scenario(long: bool, work: Path) -> list[Row]:
    server = MariaDBServer(work / "mariadb").start()
    redis = RedisServer(work / "redis").start()
    proxy = TcpProxy(("127.0.0.1", server.port)).start()
    web = None
    try:
        server.create_database(DATABASE)
        web = _serve(work, proxy, redis)

        def restart() -> Outage:
            down = time.monotonic()
            server.stop()
            time.sleep(2.0)  # down for a while, as a restart of an RDS instance is
            server.start()
            return Outage(down, time.monotonic())

        faults = [0.25, 0.5, 0.75] if long else [0.3]
        load, outages = _run_load(web.url, 120 if long else 20, faults, restart, seed=18)
        return measure("database: restart", load, outages, missing_writes(server, load.acknowledged))
    finally:
        if web is not None:
            web.stop()
        proxy.stop()
        redis.stop()
        server.stop()


SILENT_SECONDS = 20.0  # the endpoint leads nowhere (long form: 60 s); RDS: 60-120 s until DNS names the standby


def failover_scenario(long: bool, work: Path) -> list[Row]:
    primary = MariaDBServer(work / "primary", server_id=1).start()
    standby = MariaDBServer(work / "standby", server_id=2).start()
    redis = RedisServer(work / "redis").start()
    proxy = TcpProxy(("127.0.0.1", primary.port)).start()
    web = None
    try:
        standby.replicate_from(primary)
        primary.create_database(DATABASE)
        web = _serve(work, proxy, redis)

        def failover() -> Outage:
            down = time.monotonic()
            proxy.set_mode("blackhole")
            primary.kill()
            time.sleep(SILENT_SECONDS * (3 if long else 1))
            standby.promote()
            proxy.switch(("127.0.0.1", standby.port))
            proxy.set_mode("forward")
            return Outage(down, time.monotonic())

        load, outages = _run_load(web.url, 150 if long else 35, [0.2], failover, seed=19)
        return measure("database: Multi-AZ failover", load, outages, missing_writes(standby, load.acknowledged))
    finally:
        if web is not None:
            web.stop()
        proxy.stop()
        redis.stop()
        standby.stop()
        primary.stop()


def run(long: bool) -> list[Row]:
    """Both scenarios, each on its own servers in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="chaos-db-") as folder:
        work = Path(folder)
        (work / "restart").mkdir()
        (work / "failover").mkdir()
        return restart_scenario(long, work / "restart") + failover_scenario(long, work / "failover")


if __name__ == "__main__":
    for row in run(long=False):
        print(row.line())
