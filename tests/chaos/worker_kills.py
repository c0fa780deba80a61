"""Worker under SIGKILLs: N tasks through the sqsd emulator into two worker gunicorns sharing one MariaDB ledger.

What runs, all real processes on this machine: a MariaDB server, the local cloud (moto: SQS with a
dead-letter queue, SES, SNS), two gunicorns serving the worker app with the project's gunicorn.conf.py
(two EB worker instances, each with its own sqsd emulator polling the same queue). N tasks of mixed kinds
are queued at a steady rate, at most WINDOW waiting at a time (a producer its workers keep up with; moto's
SQS also slows with every message it holds): emails (at least once), pushes to mobile endpoints (at most
once), pushes to a FIFO topic (deduplicated by SNS), emails with an unknown template (rejected) and poison
tasks (always raise: the DLQ). Meanwhile a gunicorn worker process is SIGKILLed at seeded random moments, and 5% of
handler calls raise before doing anything (decided per key and receive count, so any process decides
alike).

Only the app served here differs from production (`chaos_app`): every handler is wrapped to raise 5% of
the time, a `chaos.poison` task is registered, and `ledger.sending` is wrapped to leave a marker file per
(process, thread) from just before the ledger records `sending` until the request ends. After each kill the
scenario counts the killed process's markers: the calls the kill landed inside, an upper bound, measured
outside the ledger, for the crash-inside-the-call cases the ledger counts.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask

from tests.chaos.report import Row
from tests.servers import child_processes, stop_process
from worker import ledger
from worker.registry import TaskContext, tasks

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "worker: SIGKILLs"
MARKERS = "CHAOS_MARKERS"  # the folder of markers and fault counts; set only for the chaos app
FAULT_RATE = 0.05
SEED = 18
LEASE_SECONDS = 2  # TASK_LEASE_SECONDS: a dead delivery's key is taken over soon
MAX_RETRIES = 10
WINDOW = 300  # messages waiting in the queue at most
SQSD = {"http_connections": 8, "connect_timeout": 2, "inactivity_timeout": 20, "visibility_timeout": 30,
        "error_visibility_timeout": 1, "max_retries": MAX_RETRIES, "wait_time_seconds": 1}
MIX = (("email", 0.72), ("push_endpoint", 0.10), ("push_fifo", 0.10), ("rejected", 0.05), ("poison", 0.03))


class ChaosFault(RuntimeError):
    """The 5% of handler calls that raise: retried by sqsd like any failure."""


def chaos_app() -> Flask:
    """The worker app as gunicorn serves it in this scenario (see the module docstring)."""
    import worker
    from core import logs
    from core.settings import Settings
    folder = Path(os.environ[MARKERS])
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.role)
    faults = os.open(folder / "faults", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    calls = os.open(folder / "calls", os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def faulty(handler: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(handler)
        def call(ctx: TaskContext, **args: Any) -> Any:
            os.write(calls, b".")
            if random.Random(f"{ctx.key}:{ctx.message.receive_count}").random() < FAULT_RATE:
                os.write(faults, b".")
                raise ChaosFault("injected fault")
            return handler(ctx, **args)
        return call

    if "chaos.poison" not in tasks.names():
        @tasks("chaos.poison")
        def poison(ctx: TaskContext) -> None:
            raise ChaosFault("a task that always fails")
        for name in tasks.names():
            tasks._handlers[name] = faulty(tasks._handlers[name])

        real_sending = ledger.sending

        def marked_sending(*args: Any, **kwargs: Any) -> None:
            (folder / f"{os.getpid()}-{threading.get_ident()}").write_text("inside")
            real_sending(*args, **kwargs)

        ledger.sending = marked_sending  # type: ignore[assignment]

    app = worker.create_app(settings)

    @app.teardown_request
    def left_the_call(_exc: BaseException | None) -> None:
        (folder / f"{os.getpid()}-{threading.get_ident()}").unlink(missing_ok=True)

    return app


@dataclass
class Task:
    kind: str
    key: str
    body: str
    sent_at: float = 0.0


@dataclass
class Kills:
    count: int = 0
    inside: int = 0  # calls a kill landed inside (markers of the killed process)
    log: list[str] = field(default_factory=list)


def run(long: bool) -> list[Row]:
    """Run the scenario (short: 500 tasks; long: 10,000) and return its rows."""
    from core import db, migrate
    from core.settings import Settings
    from eb_tools.aws import LOCAL_REGION, wait_until
    from eb_tools.cloud.server import LocalCloud
    from eb_tools.local.sqsd import Sqsd, SqsdOptions
    from tests.cloud_clients import local_client
    from tests.servers import MariaDBServer

    total = 10_000 if long else 500
    kills_wanted = 60 if long else 8
    kill_every = 5.0 if long else 1.5  # seconds, on average: a short run queues for about 15 s
    rate = 100.0  # tasks queued per second, at most
    rng = random.Random(SEED)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-worker-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        markers = folder / "markers"
        markers.mkdir()
        mariadb = MariaDBServer(folder / "db").start()
        stack.callback(mariadb.stop)
        cloud = LocalCloud(ses_production_access=True).start()
        stack.callback(cloud.stop)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        sqs, ses, sns = (local_client(name, cloud.url) for name in ("sqs", "ses", "sns"))
        suffix = uuid.uuid4().hex[:8]
        dlq = sqs.create_queue(QueueName=f"chaos-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(QueueName=f"chaos-work-{suffix}", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RETRIES)})})["QueueUrl"]
        sender = f"no-reply@{suffix}.example.com"
        ses.verify_email_identity(EmailAddress=sender)
        cloud.verify_email_identity(LOCAL_REGION, sender)
        application = sns.create_platform_application(
            Name=f"chaos-{suffix}", Platform="GCM", Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
        topic = sns.create_topic(Name=f"chaos-{suffix}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        phones = sqs.create_queue(QueueName=f"chaos-phones-{suffix}.fifo",
                                  Attributes={"FifoQueue": "true"})["QueueUrl"]
        phones_arn = sqs.get_queue_attributes(QueueUrl=phones, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=phones_arn, Attributes={"RawMessageDelivery": "true"})

        env = {**os.environ, "APP_ROLE": "worker", "STAGE": "chaos", "SECRET_KEY": "chaos",
               "DATABASE_URL": mariadb.create_database("chaos"), "AWS_ENDPOINT_URL": cloud.url,
               "AWS_REGION": "us-east-1", "MAIL_FROM": sender, "TASK_LEASE_SECONDS": str(LEASE_SECONDS),
               "LOCAL_DATA_DIR": tmp, "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
               "GUNICORN_LOG_LEVEL": "warning", "LOG_LEVEL": "WARNING", MARKERS: str(markers)}
        database = db.from_settings(Settings.from_env(env))
        stack.callback(database.dispose)
        migrate.upgrade(database)

        masters = [stack.enter_context(_gunicorn(env, folder / f"gunicorn-{n}.log", wait_until)) for n in (1, 2)]
        daemons = []
        for _pid, url in masters:
            daemon = Sqsd(local_client("sqs", cloud.url), queue, url, SqsdOptions(**SQSD)).start()
            stack.callback(daemon.stop)
            daemons.append(daemon)

        queued = _tasks(total, rng, application, topic, sns)
        feeding = threading.Thread(target=_feed, args=(sqs, queue, queued, rate), daemon=True)
        feeding.start()
        kills = Kills()
        while feeding.is_alive() and kills.count < kills_wanted:  # at random moments while tasks flow
            time.sleep(rng.uniform(0.4, 1.6) * kill_every)
            _kill_one(rng, [pid for pid, _url in masters], markers, kills)
        feeding.join()

        def drained() -> bool:
            return _waiting(sqs, queue) == 0

        drain_error = ""
        try:
            wait_until(drained, 600 if long else 60, "the worker queue drained", interval=0.5)
        except Exception as exc:  # reported as lost messages below, not a traceback
            drain_error = str(exc)
        for daemon in daemons:
            daemon.stop()
        return _rows(queued, kills, database, sqs, dlq, phones, application, folder, time.monotonic() - started,
                     drain_error)


@contextmanager
def _gunicorn(env: dict[str, str], log: Path, wait_until: Callable[..., Any]) -> Iterator[tuple[int, str]]:
    """One worker instance: the project's gunicorn.conf.py serving chaos_app on a free port."""
    import requests

    from eb_tools.cloud.server import free_port

    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with open(log, "ab") as output:
        proc = subprocess.Popen(
            [str(gunicorn), "--config", "gunicorn.conf.py", "tests.chaos.worker_kills:chaos_app()"],
            cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"the chaos worker's gunicorn exited with {proc.returncode}: " + " | ".join(tail))
        try:
            return requests.get(f"{url}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    try:
        wait_until(answers, 60, "the chaos worker answering", interval=0.1)
        yield proc.pid, url
    finally:
        stop_process(proc, timeout=30)


def _tasks(total: int, rng: random.Random, application: str, topic: str, sns: Any) -> list[Task]:
    from core.queue import Envelope

    kinds, weights = zip(*MIX, strict=True)
    endpoints = [sns.create_platform_endpoint(PlatformApplicationArn=application, Token=f"token-{n}")["EndpointArn"]
                 for n in range(10)]
    tasks = []
    for n in range(total):
        kind = rng.choices(kinds, weights)[0]
        key = f"chaos-{n}"
        if kind == "email":
            envelope = Envelope("email.send", {"to": f"u{n}@chaos.example.com", "template": "daily_digest",
                                               "date": "2026-11-24", "count": 1}, idempotency_key=key)
        elif kind == "rejected":
            envelope = Envelope("email.send", {"to": f"u{n}@chaos.example.com", "template": "no-such-template"},
                                idempotency_key=key)
        elif kind == "push_endpoint":
            envelope = Envelope("push.send", {"target_arn": rng.choice(endpoints), "message": key},
                                idempotency_key=key)
        elif kind == "push_fifo":
            envelope = Envelope("push.send", {"target_arn": topic, "message": key}, idempotency_key=key)
        else:
            envelope = Envelope("chaos.poison", {}, idempotency_key=key)
        tasks.append(Task(kind, key, envelope.to_json()))
    return tasks


def _waiting(sqs: Any, queue: str) -> int:
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(value) for value in counts.values())


def _feed(sqs: Any, queue: str, tasks: list[Task], rate: float) -> None:
    """Queue the tasks in batches of 10, at most `rate` per second and WINDOW waiting in the queue."""
    started = time.monotonic()
    for first in range(0, len(tasks), 10):
        batch = tasks[first:first + 10]
        delay = started + first / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        while _waiting(sqs, queue) >= WINDOW:
            time.sleep(0.2)
        now = time.time()
        for task in batch:
            task.sent_at = now
        answer = sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(i), "MessageBody": task.body} for i, task in enumerate(batch)])
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused a chaos message: {answer['Failed'][0]}")


def _kill_one(rng: random.Random, masters: list[int], markers: Path, kills: Kills) -> None:
    workers = [pid for master in masters for pid in child_processes(master)]
    if not workers:
        return
    pid = rng.choice(workers)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    inside = list(markers.glob(f"{pid}-*"))  # read after the kill: the state at the moment it landed
    kills.count += 1
    kills.inside += len(inside)
    kills.log.append(f"pid {pid}: {len(inside)} inside")
    for marker in inside:
        marker.unlink(missing_ok=True)


def _rows(tasks: list[Task], kills: Kills, database: Any, sqs: Any, dlq: str, phones: str, application: str,
          folder: Path, seconds: float, drain_error: str) -> list[Row]:
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends
    from sqlalchemy import select

    from core.models import TaskLedger

    with database.read() as session:
        ledger = {row.key: row for row in session.scalars(select(TaskLedger))}
    dead = _drain(sqs, dlq)
    dead_keys = {json.loads(body)["idempotency_key"] for body in dead}
    fifo_deliveries = Counter(_drain(sqs, phones))
    backend_sns = sns_backends["123456789012"]["us-east-1"]
    endpoint_pushes: Counter[str] = Counter()
    for endpoint in backend_sns.platform_endpoints.values():
        if endpoint.application.arn == application:
            endpoint_pushes.update(json.loads(text)["default"] for text in endpoint.messages.values())
    emails: Counter[str] = Counter()
    for message in ses_backends["123456789012"]["us-east-1"].sent_messages:
        # SendEmail's messages keep a dict of destinations, SendRawEmail's a list (other tests' mail is here too)
        sent_to = message.destinations
        addresses = sent_to.get("ToAddresses", []) if isinstance(sent_to, dict) else sent_to
        emails.update(address for address in addresses if address.endswith("@chaos.example.com"))

    ends: Counter[str] = Counter()
    waited = 0.0
    for task in tasks:
        row = ledger.get(task.key)
        if row is not None and row.state in (TaskLedger.DONE, TaskLedger.REJECTED, TaskLedger.GAVE_UP):
            ends[row.state] += 1
            # updated_at is whole seconds, UTC: the wait is measured to the end of that second
            waited = max(waited, row.updated_at.replace(tzinfo=UTC).timestamp() + 1 - task.sent_at)
        elif task.key in dead_keys:
            ends["dlq"] += 1
        else:
            ends["lost"] += 1
    by_kind = Counter(task.kind for task in tasks)
    email_keys = {task.key for task in tasks if task.kind == "email"}
    email_done = sum(1 for key in email_keys if ledger.get(key) is not None and ledger[key].state == "done")
    resends = sum(row.crashes_in_call for key, row in ledger.items() if key in email_keys)
    crashes = sum(row.crashes_in_call for row in ledger.values())
    sent = sum(emails.values())
    duplicate_emails = sum(count - 1 for count in emails.values())
    emails_missing = sum(1 for task in tasks if task.kind == "email" and ledger.get(task.key) is not None
                         and ledger[task.key].state == "done" and emails[f"u{task.key[6:]}@chaos.example.com"] == 0)
    fifo_dupes = sum(count - 1 for count in fifo_deliveries.values())
    endpoint_dupes = sum(count - 1 for count in endpoint_pushes.values())
    calls = _size(folder / "markers" / "calls")
    faults = _size(folder / "markers" / "faults")
    lost_value = f"{ends['lost']}" + (f" ({drain_error})" if drain_error and ends["lost"] else "")

    def row(measure: str, value: object, goal: str, ok: bool) -> Row:
        return Row(SCENARIO, measure, str(value), goal, ok)

    return [
        row("tasks (email / push / fifo / bad / poison)", "/".join(str(by_kind[k]) for k, _ in MIX), f"{len(tasks)}",
            sum(by_kind.values()) == len(tasks)),
        row("SIGKILLs of gunicorn workers", kills.count, "> 0", kills.count > 0),
        row("handler calls raising (injected)", f"{faults}/{calls}", f"~{FAULT_RATE:.0%}", faults > 0),
        row("ended done", ends["done"], "", True),
        row("ended rejected with a reason", ends["rejected"], f"{by_kind['rejected']}",
            ends["rejected"] == by_kind["rejected"]),
        row("ended in the DLQ", ends["dlq"], f"{by_kind['poison']}", ends["dlq"] == by_kind["poison"]),
        row("ended gave_up (flagged, at most once)", ends["gave_up"], f"<= {kills.inside}",
            ends["gave_up"] <= kills.inside),
        row("lost", lost_value, "0", ends["lost"] == 0),
        row("crash-inside-call cases (ledger)", crashes, f"<= {kills.inside} inside", crashes <= kills.inside),
        row("emails sent / email tasks done", f"{sent}/{email_done}", f"{by_kind['email']} tasks",
            email_done == by_kind["email"] and emails_missing == 0),
        row("duplicate emails (resends after a crash)", f"{duplicate_emails} ({resends})", "<= resends",
            duplicate_emails <= resends),
        row("duplicate FIFO-topic pushes per key", fifo_dupes, "0", fifo_dupes == 0),
        row("duplicate endpoint pushes per key", endpoint_dupes, "0", endpoint_dupes == 0),
        row("longest wait, queued to recorded end", f"{waited:.1f} s", "", True),
        row("wall time", f"{seconds:.0f} s", "", True),
    ]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _drain(sqs: Any, queue: str) -> list[str]:
    """Every message body in a queue (received until it answers empty)."""
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=300).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(message["Body"] for message in messages)
