"""Redis down under load: session routes answer a clear 503, health stays honest, recovery with no restart.

One gunicorn of the real app (the Procfile's, gunicorn.conf.py), a migrated MariaDB, the local cloud for
S3 and SQS, and a Redis that holds the sessions and the log-in throttles. Logged-in browsers loop on their
uploads page; one more client posts the log-in form (a throttled route) and a monitor polls /healthz and
/healthz/deep. Redis is first frozen (SIGSTOP: a node that accepts connections and never answers, where
only socket timeouts bound the wait), thawed, then stopped (connections refused) and started again on
the same address from the snapshot it saved, as an ElastiCache replica promotion keeps the data.

The health checks' contract, asserted here: /healthz reports the process only, so it stays 200 while
Redis is down (the load balancer must not take every instance out for a shared dependency; replacing
instances would not bring Redis back); /healthz/deep answers 503 and names redis, and only redis.
"""
from __future__ import annotations

import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import redis
import requests

from eb_tools.cloud.server import LocalCloud
from tests.chaos.app_stage import PASSWORD, Gunicorn, csrf_token, logged_in_browser
from tests.chaos.report import Row
from tests.chaos.web_failover import migrated_stage
from tests.chaos.web_load import NO_ANSWER, TIMEOUT, Sample, loop
from tests.cloud_clients import local_client
from tests.servers import RedisServer

SCENARIO = "web: Redis down"
SLOWEST_GOAL = 2.0  # seconds: a request never waits longer than this on a Redis that does not answer
RECOVERY_GOAL = 2.0  # seconds from Redis answering again to the first logged-in page served
MARGIN = 0.3  # seconds around each transition, for requests in flight when it happened


@dataclass(frozen=True)
class Probe:
    started: float
    path: str
    status: int
    seconds: float
    failing: tuple[str, ...] = ()


def run(long: bool) -> list[Row]:
    phase, clients = (20.0, 8) if long else (4.0, 4)  # seconds per phase
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-redis-")))
        cloud = LocalCloud().start()
        stack.callback(cloud.stop)
        aws = _aws_resources(cloud)
        env, store = migrated_stage(stack, tmp, cloud.url, **aws)
        web = Gunicorn(env, tmp / "web.log").start()
        stack.callback(web.stop)
        browsers = [logged_in_browser(web.url, env["DATABASE_URL"])[0] for _ in range(clients)]
        page = f"{web.url}/uploads"

        start = time.monotonic()
        until = start + 5 * phase
        marks: dict[str, float] = {}
        outage = threading.Thread(target=_break_redis, args=(store, start, phase, marks), daemon=True)
        probes: list[Probe] = []
        logins: list[Probe] = []
        side = [threading.Thread(target=_monitor, args=(web.url, until, probes), daemon=True),
                threading.Thread(target=_post_logins, args=(web.url, until, logins), daemon=True)]
        for thread in (outage, *side):
            thread.start()
        samples = loop(browsers, lambda _: page, until)
        for thread in (outage, *side):
            thread.join(timeout=TIMEOUT + 5)
        still_valid = sum(1 for browser in browsers if _status(browser, page) == 200)
        restarted = web.process is None or web.process.poll() is not None

    return _rows(samples, probes, logins, marks, still_valid, clients, restarted)


def _break_redis(store: RedisServer, start: float, phase: float, marks: dict[str, float]) -> None:
    """up | frozen | up | stopped | back (from its snapshot), one phase each."""
    assert store.process is not None
    _sleep_until(start + phase)  # each mark on the outage's side of its signal: a thread descheduled between
    store.process.send_signal(signal.SIGSTOP)  # the two (CI had one for over 0.3 s) counts no page served by
    marks["frozen"] = time.monotonic()  # a Redis still up as an answer while it was frozen
    _sleep_until(start + 2 * phase)
    marks["thawed"] = time.monotonic()
    store.process.send_signal(signal.SIGCONT)
    _sleep_until(start + 3 * phase)
    redis.Redis.from_url(store.url).save()  # the snapshot the restarted server loads: sessions survive
    store.stop()
    marks["stopped"] = time.monotonic()
    _sleep_until(start + 4 * phase)
    marks["starting"] = time.monotonic()
    store.start()  # same port, same folder: it loads dump.rdb
    marks["back"] = time.monotonic()


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _monitor(base: str, until: float, probes: list[Probe]) -> None:
    """The load balancer's view (/healthz) and an operator's (/healthz/deep), five times a second."""
    while time.monotonic() < until:
        for path in ("/healthz", "/healthz/deep"):
            started = time.monotonic()
            try:
                answer = requests.get(base + path, timeout=TIMEOUT)
                failing = tuple(answer.json().get("failing", ())) if path.endswith("deep") else ()
                probes.append(Probe(started, path, answer.status_code, time.monotonic() - started, failing))
            except (requests.RequestException, ValueError):
                probes.append(Probe(started, path, NO_ANSWER, time.monotonic() - started))
        time.sleep(0.2)


def _post_logins(base: str, until: float, logins: list[Probe]) -> None:
    """A client posting the throttled log-in form with a wrong account, twice a second: 400 or 429 while
    Redis is up (the throttle counts in Redis), 503 while it is down; never a 500."""
    browser = requests.Session()
    token = csrf_token(browser, f"{base}/login")
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            status = browser.post(f"{base}/login", data={"email": f"nobody-{uuid.uuid4().hex[:6]}@example.com",
                                                         "password": PASSWORD, "csrf_token": token},
                                  allow_redirects=False, timeout=TIMEOUT).status_code
        except requests.RequestException:
            status = NO_ANSWER
        logins.append(Probe(started, "/login", status, time.monotonic() - started))
        time.sleep(0.5)


def _status(browser: requests.Session, url: str) -> int:
    try:
        return browser.get(url, allow_redirects=False, timeout=TIMEOUT).status_code
    except requests.RequestException:
        return NO_ANSWER


def _counts(statuses: Iterable[int]) -> str:
    found: dict[int, int] = {}
    for status in statuses:
        found[status] = found.get(status, 0) + 1
    return ", ".join(f"{status if status else 'none'}×{count}" for status, count in sorted(found.items())) or "-"


def within(samples: Iterable[Sample], start: float, end: float) -> list[Sample]:
    """The requests sent and answered between start and end (none in flight across a transition)."""
    return [s for s in samples if start <= s.started and s.started + s.seconds < end]


def only(statuses: Iterable[int], allowed: set[int]) -> bool:
    return set(statuses) <= allowed


def _rows(samples: list[Sample], probes: list[Probe], logins: list[Probe], marks: dict[str, float],
          still_valid: int, clients: int, restarted: bool) -> list[Row]:
    frozen = within(samples, marks["frozen"] + MARGIN, marks["thawed"])
    stopped = within(samples, marks["stopped"], marks["starting"])
    back = [s for s in samples if s.started >= marks["back"] and s.status == 200]
    recovery = back[0].started + back[0].seconds - marks["back"] if back else float("inf")
    down = (marks["frozen"] + MARGIN, marks["thawed"]), (marks["stopped"], marks["starting"])

    def during_outage(items: Iterable[Probe], path: str) -> list[Probe]:
        return [p for p in items if p.path == path and any(a <= p.started and p.started + p.seconds < b
                                                           for a, b in down)]

    def outside_outage(items: Iterable[Probe], path: str) -> list[Probe]:
        edges = (marks["frozen"] - MARGIN, marks["thawed"] + MARGIN), (marks["stopped"] - MARGIN, marks["back"] + 1)
        return [p for p in items if p.path == path and not any(a <= p.started < b for a, b in edges)]

    healthz, deep = during_outage(probes, "/healthz"), during_outage(probes, "/healthz/deep")
    deep_up = outside_outage(probes, "/healthz/deep")
    login_down = during_outage(logins, "/login")
    every_status = [s.status for s in samples] + [p.status for p in (*probes, *logins)]
    broken = sum(1 for status in every_status if status in (NO_ANSWER, 500))
    slowest = max((s.seconds for s in frozen), default=float("nan"))
    return [
        Row(SCENARIO, "logged-in page, Redis frozen: answers", _counts(s.status for s in frozen), "503 only",
            bool(frozen) and only((s.status for s in frozen), {503})),
        Row(SCENARIO, "slowest answer while Redis is frozen", f"{slowest:.2f} s", f"< {SLOWEST_GOAL:.0f} s",
            slowest < SLOWEST_GOAL),
        Row(SCENARIO, "logged-in page, Redis stopped: answers", _counts(s.status for s in stopped), "503 only",
            bool(stopped) and only((s.status for s in stopped), {503})),
        Row(SCENARIO, "log-in form (throttled), Redis down", _counts(p.status for p in login_down), "503 only",
            bool(login_down) and only((p.status for p in login_down), {503})),
        Row(SCENARIO, "500s or no answer, whole run", f"{broken}/{len(every_status)}", "0", broken == 0),
        Row(SCENARIO, "/healthz while Redis is down", _counts(p.status for p in healthz), "200 only",
            bool(healthz) and only((p.status for p in healthz), {200})),
        Row(SCENARIO, "/healthz/deep while Redis is down", _counts(p.status for p in deep) + " failing: "
            + ",".join(sorted({name for p in deep for name in p.failing})), "503 redis",
            bool(deep) and all(p.status == 503 and p.failing == ("redis",) for p in deep)),
        Row(SCENARIO, "/healthz/deep while Redis is up", _counts(p.status for p in deep_up), "200 only",
            bool(deep_up) and only((p.status for p in deep_up), {200})),
        Row(SCENARIO, "time to first page after Redis is back", f"{recovery:.2f} s", f"< {RECOVERY_GOAL:.0f} s",
            recovery < RECOVERY_GOAL),
        Row(SCENARIO, "sessions valid afterwards, no app restart",
            f"{still_valid}/{clients}{', restarted' if restarted else ''}", f"{clients}/{clients}",
            still_valid == clients and not restarted),
    ]


def _aws_resources(cloud: LocalCloud) -> dict[str, str]:
    """A bucket and a queue, so /healthz/deep is all green while Redis is up."""
    suffix = uuid.uuid4().hex[:10]
    bucket = f"uploads-{suffix}"
    local_client("s3", cloud.url).create_bucket(Bucket=bucket)
    queue_url = local_client("sqs", cloud.url).create_queue(QueueName=f"worker-{suffix}")["QueueUrl"]
    return {"UPLOADS_BUCKET": bucket, "WORKER_QUEUE_URL": queue_url}
