"""The database fails under load, as the apps see it: a MariaDB restart, and a Multi-AZ failover.

The real web app (the Procfile's gunicorn, sessions in a real Redis) serves logged-in browsers on 127.0.0.1:
each reads its uploads page (the reader engine) and creates uploads (a write through the writer; the 201 with
the id is the acknowledgement). The database is reached through tests/chaos/tcp_proxy.py, the stand-in for
the RDS writer endpoint.

- restart: the server is stopped (SIGTERM, a clean shutdown) and started again on the same port; the apps
  keep running. The worker (its gunicorn, fed by the sqsd emulator from the emulated SQS) sends an email
  task every 0.1 s meanwhile: a delivery that meets the outage fails (500) and sqsd retries it; afterwards
  every task is done, nothing is in the dead-letter queue, and at least one email went out per task (a
  worker that sent and then could not record it resends: email.send is at least once, worker/ledger.py).
- failover: two servers, a primary and a standby fed by binary-log replication in semi-synchronous mode
  (AFTER_SYNC: a commit returns only once the standby has received it, which is RDS Multi-AZ's promise for
  acknowledged writes, there by synchronous block-level replication). The primary is SIGKILLed; for a
  moment the endpoint leads nowhere (the proxy holds connections silent, as a DNS name still pointing at a
  dead host does); the standby applies what it received, takes writes, and the endpoint leads to it, every
  old connection cut. RDS takes "typically 60-120 seconds" for this (RDS User Guide, "Failing over a Multi-AZ
  DB instance"); here the silence lasts 20 s (60 s in the long form): longer than a browser waits, so a
  request that waits on the database without a bound of its own shows as hung. It tests the app's reaction,
  not AWS's timing. Only the web tier runs here; the worker meets the same errors in the restart.

Measured: time from the database being back to the first success (goal under 5 s), answers that were not
2xx during the outage (each must be a clear 503) and after it (none), requests without an answer within
the client's timeout (none), and acknowledged writes missing from the database afterwards (none).
"""
from __future__ import annotations

import contextlib
import json
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from core import db, migrate
from core.queue import Envelope
from core.settings import Settings
from eb_tools.aws import LOCAL_REGION, WaitTimeout, wait_until
from eb_tools.cloud.server import LocalCloud
from eb_tools.local.sqsd import Sqsd, SqsdOptions
from tests.chaos.app_stage import Gunicorn, logged_in_browser, stage_env
from tests.chaos.report import Row
from tests.chaos.tcp_proxy import TcpProxy
from tests.cloud_clients import local_client
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
    database_url: str  # where the browsers' accounts are made
    seed: int
    calls: list[Call] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # upload ids the app answered 201 for
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        browsers = [logged_in_browser(self.base_url, self.database_url) for _ in range(CLIENTS)]
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
        after += [c for c in calls if recovered <= c.started and c.ended < until]  # not the next outage's
    errors = [c for c in during if c.status is not None and c.status >= 400]
    unclear = [c for c in errors if c.status != 503]
    late = [c for c in after if c.status not in (200, 201)]
    hung = [c for c in calls if c.status is None]
    slowest = max((c.ended - c.started for c in calls), default=0.0)
    recovery = max(recoveries, default=float("inf"))
    return [
        Row(scenario, "requests (reads and writes)", str(len(calls)), "-", bool(calls)),
        Row(scenario, "time to first success after DB back", f"{recovery:.2f} s", f"< {RECOVERY_GOAL:g} s",
            recovery < RECOVERY_GOAL),
        Row(scenario, "errors in outage window (503)", f"{len(errors) - len(unclear)}/{len(during)}", "any", True),
        Row(scenario, "errors in outage window, not 503", f"{len(unclear)}{_statuses(unclear)}", "0", not unclear),
        Row(scenario, "errors after recovery", f"{len(late)}/{len(after)}{_statuses(late)}", "0", not late),
        Row(scenario, f"hung requests (no answer in {CLIENT_TIMEOUT:g} s)", str(len(hung)), "0", not hung),
        Row(scenario, "slowest answer", f"{slowest:.2f} s", f"< {CLIENT_TIMEOUT:g} s", slowest < CLIENT_TIMEOUT),
        Row(scenario, "acknowledged writes lost", f"{missing}/{len(load.acknowledged)}", "0", missing == 0),
    ]


def _statuses(calls: list[Call]) -> str:
    """' (503 x2, none x1)': what the failed calls answered, for a row that missed."""
    counts = Counter("none" if c.status is None else str(c.status) for c in calls)
    return f" ({', '.join(f'{status} x{n}' for status, n in sorted(counts.items()))})" if counts else ""


def missing_writes(server: MariaDBServer, acknowledged: list[int]) -> int:
    """How many acknowledged upload ids the server does not have."""
    if not acknowledged:
        return 0
    with server.root() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id FROM `{DATABASE}`.uploads")
        present = {row[0] for row in cur.fetchall()}
    return len(set(acknowledged) - present)


def _env(work: Path, proxy: TcpProxy, redis: RedisServer, aws_endpoint_url: str = "http://127.0.0.1:9",
         **extra: str) -> dict[str, str]:
    """The stage's environment, its database reached through the proxy; the schema migrated."""
    database_url = (f"mysql+pymysql://{MariaDBServer.USER}:{MariaDBServer.PASSWORD}@127.0.0.1:{proxy.port}/"
                    f"{DATABASE}?charset=utf8mb4")
    # The web routes of the load make no AWS call (presigning is local): by default an endpoint that answers
    # nothing is enough.
    env = stage_env(database_url, redis.url, aws_endpoint_url, work / "data", **extra)
    database = db.from_settings(Settings.from_env(env))
    migrate.upgrade(database)
    database.dispose()
    return env


class CountingSqsd(Sqsd):
    """The sqsd emulator, counting the worker's answers by status (None: no answer in InactivityTimeout)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: Counter[int | None] = Counter()

    def _http(self) -> requests.Session:
        session = super()._http()
        if not session.hooks["response"]:
            session.hooks["response"].append(lambda response, *_, **__: self.answers.update([response.status_code]))
        return session


class WorkerLoad:
    """The worker tier under the same database: sqsd, its gunicorn, and a feeder sending an email task every
    0.1 s to the emulated SQS until stopped."""

    def __init__(self, work: Path, proxy: TcpProxy, redis: RedisServer, cloud: LocalCloud) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.sqs, self.ses = local_client("sqs", cloud.url), local_client("ses", cloud.url)
        sender = f"no-reply@{suffix}.example.com"
        self.ses.verify_email_identity(EmailAddress=sender)
        cloud.verify_email_identity(LOCAL_REGION, sender)
        self.dlq_url = self.sqs.create_queue(QueueName=f"db-dlq-{suffix}")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.queue_url = self.sqs.create_queue(QueueName=f"db-{suffix}", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10"})})["QueueUrl"]
        # A short lease: a delivery whose worker lost the database after claiming is taken over in 3 s.
        self.env = _env(work, proxy, redis, cloud.url, WORKER_QUEUE_URL=self.queue_url, MAIL_FROM=sender,
                        TASK_LEASE_SECONDS="3")
        self.worker = Gunicorn(self.env, work / "worker.log", role="worker").start()
        options = SqsdOptions(http_connections=4, visibility_timeout=60, error_visibility_timeout=1,
                              inactivity_timeout=30, wait_time_seconds=1, max_retries=10)
        self.sqsd = CountingSqsd(local_client("sqs", cloud.url), self.queue_url, self.worker.url, options)
        self.sqsd.start()
        self.keys: list[str] = []
        self.emails_before = self._emails()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def start(self) -> WorkerLoad:
        self._thread.start()
        return self

    def _emails(self) -> int:
        return int(self.ses.get_send_quota()["SentLast24Hours"])

    def _feed(self) -> None:
        while not self._stop.wait(0.1):
            envelope = Envelope("email.send", {"to": f"user{len(self.keys)}@example.com", "template": "daily_digest",
                                               "date": "2026-11-25", "count": 1})
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=envelope.to_json())
            self.keys.append(envelope.idempotency_key)

    def finish(self, server: MariaDBServer, settle: float = 60) -> list[Row]:
        """Stop feeding, wait (bounded) until every task is done, and report."""
        self._stop.set()
        self._thread.join(timeout=5)

        def done() -> int:
            with server.root() as conn, conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{DATABASE}`.task_ledger WHERE state = 'done'")
                return int(cur.fetchone()[0])

        with contextlib.suppress(WaitTimeout):  # the rows say what was left undone
            wait_until(lambda: done() >= len(self.keys), settle, "every worker task done", interval=0.5)
        self.sqsd.stop()
        self.worker.stop()
        finished = done()
        attributes: dict[str, Any] = self.sqs.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        dead = int(attributes["ApproximateNumberOfMessages"])
        emails = self._emails() - self.emails_before
        scenario = "database: restart, worker"
        tasks = len(self.keys)
        failed = sum(count for status, count in self.sqsd.answers.items() if status != 200)
        return [
            Row(scenario, "deliveries that failed in the outage (retried)", str(failed), "> 0", failed > 0),
            Row(scenario, "tasks lost (not done afterwards)", f"{tasks - finished}/{tasks}", "0",
                bool(tasks) and finished == tasks),
            Row(scenario, "messages in the dead-letter queue", str(dead), "0", dead == 0),
            Row(scenario, "emails sent (at least once per task)", f"{emails}/{tasks}", ">= 1 each", emails >= tasks),
            Row(scenario, "emails sent twice (sent, then not recorded)", str(max(0, emails - tasks)), "-", True),
        ]


def _run_load(web: Gunicorn, seconds: float, faults: list[float], fault: Callable[[], Outage],
              seed: int) -> tuple[Load, list[Outage]]:
    """Load on `web` for `seconds`; `fault` at each fraction of the run in `faults`."""
    load = Load(web.url, web.env["DATABASE_URL"], seed).start()
    began = time.monotonic()
    outages = []
    for at in faults:
        time.sleep(max(0.0, began + seconds * at - time.monotonic()))
        outages.append(fault())
    time.sleep(max(0.0, began + seconds - time.monotonic()))
    load.stop()
    return load, outages


def restart_scenario(long: bool, work: Path, cloud: LocalCloud | None = None) -> list[Row]:
    """The emulated cloud (for the worker's SQS and SES) is started here unless given."""
    server = MariaDBServer(work / "mariadb").start()
    redis = RedisServer(work / "redis").start()
    proxy = TcpProxy(("127.0.0.1", server.port)).start()
    own_cloud = cloud is None
    cloud = cloud or LocalCloud(ses_production_access=True).start()
    web: Gunicorn | None = None
    workers: WorkerLoad | None = None
    try:
        server.create_database(DATABASE)
        web = Gunicorn(_env(work, proxy, redis), work / "web.log").start()
        workers = WorkerLoad(work, proxy, redis, cloud).start()

        def restart() -> Outage:
            down = time.monotonic()
            server.stop()
            time.sleep(2.0)  # down for a while, as a restart of an RDS instance is
            server.start()
            return Outage(down, time.monotonic())

        faults = [0.25, 0.5, 0.75] if long else [0.3]
        load, outages = _run_load(web, 120 if long else 20, faults, restart, seed=18)
        rows = measure("database: restart", load, outages, missing_writes(server, load.acknowledged))
        return rows + workers.finish(server)
    finally:
        if workers is not None:
            workers.sqsd.stop()
            workers.worker.stop()
        if web is not None:
            web.stop()
        proxy.stop()
        redis.stop()
        server.stop()
        if own_cloud:
            cloud.stop()


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
        web = Gunicorn(_env(work, proxy, redis), work / "web.log").start()

        def failover() -> Outage:
            down = time.monotonic()
            proxy.set_mode("blackhole")
            primary.kill()
            time.sleep(SILENT_SECONDS * (3 if long else 1))
            standby.promote()
            proxy.switch(("127.0.0.1", standby.port))
            proxy.set_mode("forward")
            return Outage(down, time.monotonic())

        load, outages = _run_load(web, 150 if long else 35, [0.2], failover, seed=19)
        return measure("database: Multi-AZ failover", load, outages, missing_writes(standby, load.acknowledged))
    finally:
        if web is not None:
            web.stop()
        proxy.stop()
        redis.stop()
        standby.stop()
        primary.stop()


def run(long: bool, cloud: LocalCloud | None = None) -> list[Row]:
    """Both scenarios, each on its own servers in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="chaos-db-") as folder:
        work = Path(folder)
        (work / "restart").mkdir()
        (work / "failover").mkdir()
        return restart_scenario(long, work / "restart", cloud) + failover_scenario(long, work / "failover")


if __name__ == "__main__":
    for row in run(long=False):
        print(row.line())
