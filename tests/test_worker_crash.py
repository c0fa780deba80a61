"""A process dying inside a task's non-idempotent downstream call: each task's choice (resend or give up),
recorded and counted in the ledger; a crash outside the call is a plain takeover and is not counted."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from moto.sns.models import sns_backends

from core.models import TaskLedger, utcnow
from core.queue import Envelope
from tests.conftest import aws_client
from tests.sqsd_client import body, deliver
from worker import ledger
from worker.ledger import OnCrash
from worker.registry import TaskContext, tasks

ROOT = Path(__file__).resolve().parent.parent
DIE = "TEST_WORKER_CRASH_DIE"  # set only in the subprocess that plays the dying worker


@tasks("test.crash.resend")
def crash_resend(ctx: TaskContext, where: str) -> str:
    return _maybe_die(ctx, where)


@tasks("test.crash.give_up", on_crash=OnCrash.GIVE_UP)
def crash_give_up(ctx: TaskContext, where: str) -> str:
    return _maybe_die(ctx, where)


def _maybe_die(ctx: TaskContext, where: str) -> str:
    """Die (as SIGKILL would: no cleanup, no answer) before or inside the call when DIE is set."""
    dying = bool(os.environ.get(DIE))
    if dying and where == "before":
        os._exit(1)
    ctx.sending()
    if dying and where == "inside":
        os._exit(1)
    return "sent"


@pytest.fixture
def worker(make_app):
    return make_app(APP_ROLE="worker", TASK_LEASE_SECONDS="30")


def row(app, key: str) -> TaskLedger:
    with app.extensions["database"].read() as session:
        found = session.get(TaskLedger, key)
    assert found is not None
    return found


def expire(app, key: str) -> None:
    with app.extensions["database"].write() as session:
        session.get(TaskLedger, key).lease_until = utcnow() - timedelta(seconds=1)


def die_in_subprocess(env: dict[str, str], envelope: Envelope) -> int:
    """A worker process (the real app, same database) that receives the envelope and dies."""
    script = (
        "import sys, tests.conftest, tests.test_worker_crash as t\n"
        "from tests.sqsd_client import deliver\n"
        "from core.settings import Settings\n"
        "import worker\n"
        "app = worker.create_app(Settings.from_env())\n"
        "deliver(app.test_client(), sys.argv[1])\n"
    )
    child_env = {**os.environ, **env, "APP_ROLE": "worker", "TASK_LEASE_SECONDS": "30", DIE: "1"}
    return subprocess.run([sys.executable, "-c", script, envelope.to_json()], cwd=ROOT, env=child_env,
                          timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


@pytest.mark.parametrize(("task", "where", "status", "runs", "crashes"), [
    ("test.crash.resend", "inside", "done", True, 1),
    ("test.crash.give_up", "inside", "gave_up", False, 1),
    ("test.crash.resend", "before", "done", True, 0),
    ("test.crash.give_up", "before", "done", True, 0),
])
def test_a_process_killed_inside_the_call_resends_or_gives_up_as_the_task_chose(
        worker, env, task, where, status, runs, crashes):
    envelope = Envelope(task, {"where": where})
    key = envelope.idempotency_key
    assert die_in_subprocess(env, envelope) == 1
    left = row(worker, key)
    assert left.state == ("sending" if where == "inside" else "in_progress")
    assert body(deliver(worker.test_client(), envelope))["status"] == "busy"  # its lease is still live
    expire(worker, key)
    answer = deliver(worker.test_client(), envelope, receive_count=3)
    assert answer.status_code == 200 and body(answer)["status"] == status
    after = row(worker, key)
    assert after.crashes_in_call == crashes
    assert after.state == ("done" if runs else "gave_up")
    if not runs:
        assert "died inside the downstream call" in after.result
    # Whatever happened, a later delivery of the key does nothing and is deleted.
    again = deliver(worker.test_client(), envelope, receive_count=4)
    assert again.status_code == 200 and body(again)["status"] in ("duplicate", "gave_up")
    assert row(worker, key).crashes_in_call == crashes


def sent_emails(cloud) -> int:
    return int(aws_client(cloud, "ses").get_send_quota()["SentLast24Hours"])


def email(key: str) -> Envelope:
    return Envelope("email.send", {"to": "ada@example.com", "template": "daily_digest", "date": "2026-11-24",
                                   "count": 1}, idempotency_key=key)


def test_email_is_resent_after_a_crash_inside_ses_and_counted(worker, cloud):
    envelope = email(uuid.uuid4().hex)
    database = worker.extensions["database"]
    assert ledger.claim(database, envelope.idempotency_key, "email.send", "dead", 30, 14) is ledger.Claim.RUN
    ledger.sending(database, envelope.idempotency_key, "dead", 30)
    expire(worker, envelope.idempotency_key)
    before = sent_emails(cloud)
    assert body(deliver(worker.test_client(), envelope))["status"] == "done"
    assert sent_emails(cloud) - before == 1
    assert row(worker, envelope.idempotency_key).crashes_in_call == 1


def test_email_taken_over_after_a_crash_before_ses_is_not_counted(worker, cloud):
    envelope = email(uuid.uuid4().hex)
    database = worker.extensions["database"]
    ledger.claim(database, envelope.idempotency_key, "email.send", "dead", 30, 14)
    expire(worker, envelope.idempotency_key)
    before = sent_emails(cloud)
    assert body(deliver(worker.test_client(), envelope))["status"] == "done"
    assert sent_emails(cloud) - before == 1
    assert row(worker, envelope.idempotency_key).crashes_in_call == 0


def endpoint(cloud) -> str:
    sns = aws_client(cloud, "sns")
    app_arn = sns.create_platform_application(Name=f"app-{uuid.uuid4().hex[:6]}", Platform="GCM",
                                              Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
    return sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=uuid.uuid4().hex)["EndpointArn"]


def test_push_to_an_endpoint_gives_up_after_a_crash_inside_sns(worker, cloud):
    target = endpoint(cloud)
    envelope = Envelope("push.send", {"target_arn": target, "message": "ready"})
    database = worker.extensions["database"]
    ledger.claim(database, envelope.idempotency_key, "push.send", "dead", 30, 14, OnCrash.GIVE_UP)
    ledger.sending(database, envelope.idempotency_key, "dead", 30)
    expire(worker, envelope.idempotency_key)
    answer = deliver(worker.test_client(), envelope)
    assert answer.status_code == 200 and body(answer)["status"] == "gave_up"
    assert sns_backends["123456789012"]["us-east-1"].platform_endpoints[target].messages == {}
    flagged = row(worker, envelope.idempotency_key)
    assert (flagged.state, flagged.crashes_in_call) == ("gave_up", 1)


def test_push_to_a_fifo_topic_is_deduplicated_by_the_key_not_marked(worker, cloud):
    sns, sqs = aws_client(cloud, "sns"), aws_client(cloud, "sqs")
    suffix = uuid.uuid4().hex[:8]
    topic = sns.create_topic(Name=f"push-{suffix}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queue = sqs.create_queue(QueueName=f"phones-{suffix}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    envelope = Envelope("push.send", {"target_arn": topic, "message": "ready"})
    database = worker.extensions["database"]
    assert body(deliver(worker.test_client(), envelope))["status"] == "done"
    with database.write() as session:  # as if the process died after the publish, before recording it
        crashed = session.get(TaskLedger, envelope.idempotency_key)
        crashed.state, crashed.owner = "in_progress", "dead"
        crashed.lease_until = utcnow() - timedelta(seconds=1)
    assert body(deliver(worker.test_client(), envelope))["status"] == "done"  # published again...
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in received] == ["ready"]  # ...and delivered once
    assert row(worker, envelope.idempotency_key).crashes_in_call == 0


def test_a_delivery_whose_key_was_taken_over_does_not_make_the_call(worker):
    database = worker.extensions["database"]
    key = uuid.uuid4().hex
    ledger.claim(database, key, "email.send", "slow", 30, 14)
    expire(worker, key)
    assert ledger.claim(database, key, "email.send", "new", 30, 14) is ledger.Claim.RUN
    with pytest.raises(ledger.LeaseLost):
        ledger.sending(database, key, "slow", 30)
    assert row(worker, key).state == "in_progress"


def test_a_claim_whose_insert_ran_twice_is_still_its_own(worker):
    """The ledger runs a statement once more when its connection died; if the first insert had committed, the
    second finds the key under the same owner (a fresh id per delivery) and the claim holds."""
    database = worker.extensions["database"]
    key = uuid.uuid4().hex
    assert ledger.claim(database, key, "email.send", "me", 30, 14) is ledger.Claim.RUN
    assert ledger.claim(database, key, "email.send", "me", 30, 14) is ledger.Claim.RUN
    assert ledger.claim(database, key, "email.send", "someone-else", 30, 14) is ledger.Claim.BUSY
