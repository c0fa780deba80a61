"""The worker app under the sqsd contract: idempotent tasks, poison messages, periodic tasks."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import yaml
from sqlalchemy import select

from core.models import TaskLedger, Upload, User, utcnow
from core.queue import Envelope
from tests.conftest import aws_client
from tests.sqsd_client import body, deliver, fire, sqsd_headers
from worker import ledger
from worker.registry import tasks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(make_app):
    return make_app(APP_ROLE="worker", TASK_LEASE_SECONDS="30")


def emails_sent(cloud) -> int:
    return int(aws_client(cloud, "ses").get_send_quota()["SentLast24Hours"])


def ledger_row(app, key: str) -> TaskLedger | None:
    with app.extensions["database"].read() as session:
        return session.get(TaskLedger, key)


def make_user(app, email="ada@example.com") -> int:
    with app.extensions["database"].write() as session:
        user = User(email=email, password_hash="x")
        session.add(user)
    return user.id


def email_envelope(to="ada@example.com", key=None) -> Envelope:
    return Envelope("email.send", {"to": to, "template": "daily_digest", "date": "2026-11-24", "count": 2},
                    idempotency_key=key or uuid.uuid4().hex)


def test_requests_that_are_not_sqsds_are_refused(worker, make_app):
    client = worker.test_client()
    envelope = email_envelope()
    assert client.post("/", data=envelope.to_json()).status_code == 403
    no_msgid = {k: v for k, v in sqsd_headers().items() if k != "X-Aws-Sqsd-Msgid"}
    assert client.post("/", data=envelope.to_json(), headers=no_msgid).status_code == 403
    spoofed_agent = {**sqsd_headers(), "User-Agent": "curl/8.0"}
    assert client.post("/", data=envelope.to_json(), headers=spoofed_agent).status_code == 403
    assert client.post("/periodic/expire-ledger").status_code == 403
    assert client.get("/healthz").status_code == 200

    web = make_app().test_client()
    assert web.post("/", data=envelope.to_json(), headers=sqsd_headers()).status_code == 405
    assert fire(web, "expire-ledger").status_code == 404


@pytest.mark.parametrize("agent", ["aws-sqsd-not-really/0", "aws-sqsd", "aws-sqsd/", "aws-sqsd/3.0.4 curl/8",
                                   "Aws-Sqsd/3.0.4", "x aws-sqsd/3.0.4", "aws-sqsdx/3.0.4", "aws-sqsd/three"])
def test_only_sqsds_own_user_agent_passes(worker, agent):
    envelope = email_envelope()
    refused = worker.test_client().post("/", data=envelope.to_json(), headers={**sqsd_headers(), "User-Agent": agent})
    assert refused.status_code == 403, agent
    assert ledger_row(worker, envelope.idempotency_key) is None


@pytest.mark.parametrize("agent", ["aws-sqsd/3.0.4", "aws-sqsd/2.0", "aws-sqsd/2.3"])
def test_sqsds_user_agents_as_sqsd_sends_them(worker, agent):
    """sqsd sends "aws-sqsd/#{version}" (its daemon's source), versions 2.0 and 2.3 there, 3.0.4 on EB today."""
    response = worker.test_client().post("/", data=email_envelope().to_json(),
                                         headers={**sqsd_headers(), "User-Agent": agent})
    assert response.status_code == 200 and body(response)["status"] == "done"


def test_same_message_twice_sends_one_email(worker, cloud):
    client = worker.test_client()
    envelope = email_envelope()
    before = emails_sent(cloud)
    first = deliver(client, envelope, msgid="m-1")
    assert first.status_code == 200 and body(first)["status"] == "done"
    again = deliver(client, envelope, msgid="m-1", receive_count=2)
    assert again.status_code == 200 and body(again)["status"] == "duplicate"
    assert emails_sent(cloud) - before == 1
    row = ledger_row(worker, envelope.idempotency_key)
    assert row.state == "done" and row.attempts == 1 and "message_id" in row.result


def test_concurrent_deliveries_cause_one_side_effect(worker, cloud):
    envelope = email_envelope()
    before = emails_sent(cloud)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def one_delivery() -> None:
        client = worker.test_client()
        start.wait()
        statuses.append(deliver(client, envelope).status_code)

    threads = [threading.Thread(target=one_delivery) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emails_sent(cloud) - before == 1
    assert set(statuses) <= {200, 409} and 200 in statuses
    # Whoever got 409 is retried by sqsd later and then finds the key done.
    assert body(deliver(worker.test_client(), envelope))["status"] == "duplicate"
    assert emails_sent(cloud) - before == 1


calls: dict[str, int] = {}


@tasks("test.flaky")
def flaky(ctx, name: str) -> str:
    calls[name] = calls.get(name, 0) + 1
    if calls[name] == 1:
        raise ConnectionError("SMTP relay went away")
    return "ok"


def test_a_failing_handler_is_retried_then_succeeds(worker):
    client = worker.test_client()
    envelope = Envelope("test.flaky", {"name": uuid.uuid4().hex})
    failed = deliver(client, envelope)
    assert failed.status_code == 500 and body(failed)["status"] == "failed"
    row = ledger_row(worker, envelope.idempotency_key)
    assert row.state == "failed" and "SMTP relay went away" in row.result
    retried = deliver(client, envelope, receive_count=2)
    assert retried.status_code == 200 and body(retried)["status"] == "done"
    assert ledger_row(worker, envelope.idempotency_key).attempts == 2


def test_a_crashed_worker_is_taken_over_after_its_lease(worker, cloud):
    envelope = email_envelope()
    database = worker.extensions["database"]
    # A worker claimed the key and died: its lease is still live, so a redelivery waits.
    assert ledger.claim(database, envelope.idempotency_key, "email.send", "dead-worker", 30, 14) is ledger.Claim.RUN
    busy = deliver(worker.test_client(), envelope)
    assert busy.status_code == 409
    with database.write() as session:
        session.get(TaskLedger, envelope.idempotency_key).lease_until = utcnow() - timedelta(seconds=1)
    before = emails_sent(cloud)
    taken = deliver(worker.test_client(), envelope, receive_count=3)
    assert taken.status_code == 200 and body(taken)["status"] == "done"
    assert emails_sent(cloud) - before == 1
    assert ledger_row(worker, envelope.idempotency_key).attempts == 2
    # The dead worker waking up cannot overwrite the outcome.
    assert not ledger.finish(database, envelope.idempotency_key, "dead-worker", "failed", "late")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("this is not json", "bad envelope: body is not JSON"),
        ('{"v": 2, "task": "email.send"}', "bad envelope: unsupported envelope version 2"),
        (Envelope("no.such.task", {}).to_json(), "unknown task 'no.such.task'"),
        (Envelope("email.send", {"too": "x@example.com"}).to_json(), "wrong arguments for email.send"),
        (Envelope("email.send", {"to": "a@example.com", "template": "nope"}).to_json(), "unknown email template"),
    ],
)
def test_poison_messages_are_rejected_with_a_reason_not_looped(worker, payload, reason):
    client = worker.test_client()
    msgid = str(uuid.uuid4())
    for attempt in (1, 2):
        response = deliver(client, payload, msgid=msgid, receive_count=attempt)
        assert response.status_code == 200  # sqsd deletes it: retrying cannot help
        assert body(response)["status"] in ("rejected", "duplicate")
    with worker.extensions["database"].read() as session:
        rows = session.scalars(select(TaskLedger).where(TaskLedger.state == "rejected")).all()
    assert any(reason in (row.result or "") for row in rows), [r.result for r in rows]


ILL_TYPED = [
    ("image.variants", {"upload_id": {"id": 7}}, "upload_id must be a whole number"),
    ("image.variants", {"upload_id": [7]}, "upload_id must be a whole number"),
    ("image.variants", {"upload_id": 10**30}, "upload_id must be a whole number from 1 to 2147483647"),
    ("image.variants", {"upload_id": 2**31}, "upload_id must be a whole number from 1 to 2147483647"),
    ("image.variants", {"upload_id": -1}, "upload_id must be a whole number from 1 to 2147483647"),
    ("image.variants", {"upload_id": "7"}, "upload_id must be a whole number"),
    ("image.variants", {"upload_id": True}, "upload_id must be a whole number"),
    ("image.variants", {"upload_id": 7.5}, "upload_id must be a whole number"),
    ("image.variants", {"upload_id": None}, "upload_id must be a whole number"),
    ("email.send", {"to": 12345, "template": "daily_digest", "date": "2026-11-24", "count": 2}, "to must be a string"),
    ("email.send", {"to": "a" * 300, "template": "daily_digest", "date": "2026-11-24", "count": 2},
     "to must be a string from 3 to 254 characters long"),
    ("email.send", {"to": "ada@example.com", "template": ["upload_received"]}, "template must be a string"),
    ("email.send", {"to": "ada@example.com", "template": "upload_received", "upload_id": 10**30},
     "email template upload_received: upload_id must be a whole number from 1 to 2147483647"),
    ("email.send", {"to": "ada@example.com", "template": "daily_digest", "date": "d", "count": "2"},
     "email template daily_digest: count must be a whole number"),
    ("email.send", {"to": "\ud800@example.com", "template": "daily_digest", "date": "d", "count": 2},
     "to must be valid Unicode text"),
    ("push.send", {"target_arn": 5, "message": "hi"}, "target_arn must be a string"),
    ("push.send", {"target_arn": "arn:aws:sns:us-east-1:123456789012:t", "message": {"a": 1}}, "message must be"),
    ("push.send", {"target_arn": "arn:aws:sns:us-east-1:123456789012:t", "message": "m", "title": 3},
     "title must be a string or null"),
]


@pytest.mark.parametrize(("task", "args", "reason"), ILL_TYPED,
                         ids=[f"{task}-{index}" for index, (task, _, _) in enumerate(ILL_TYPED)])
def test_ill_typed_arguments_are_rejected_with_the_reason_not_retried(worker, task, args, reason):
    """What the README promises for wrong arguments: 200 rejected, the reason in the ledger; never 500."""
    envelope = Envelope(task, args)
    response = deliver(worker.test_client(), envelope.to_json())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert body(response)["status"] == "rejected" and reason in body(response)["reason"], body(response)
    row = ledger_row(worker, envelope.idempotency_key)
    assert row.state == "rejected" and reason in row.result


def test_a_body_nested_30000_deep_is_rejected_not_a_500(worker):
    deep = '{"v": 1, "args": ' + "[" * 30_000 + "]" * 30_000 + "}"
    msgid = str(uuid.uuid4())
    response = deliver(worker.test_client(), deep, msgid=msgid)
    assert response.status_code == 200 and body(response) == {
        "status": "rejected", "reason": "bad envelope: body is nested too deeply"}
    assert ledger_row(worker, f"msg:{msgid}").state == "rejected"


def test_a_body_larger_than_any_sqs_message_is_refused_unread(worker):
    response = deliver(worker.test_client(), b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413 and response.is_json


def test_periodic_headers_reach_the_right_task(worker):
    database = worker.extensions["database"]
    old = utcnow() - timedelta(days=30)
    with database.write() as session:
        session.add(TaskLedger(key="old-key", task="email.send", state="done", attempts=1,
                               created_at=old, updated_at=old, expires_at=old + timedelta(days=14)))
    client = worker.test_client()
    response = fire(client, "expire-ledger")
    assert response.status_code == 200 and body(response)["result"] == {"deleted": 1}
    assert ledger_row(worker, "old-key") is None
    # The same schedule slot delivered twice runs once.
    assert body(fire(client, "expire-ledger"))["status"] == "duplicate"
    # A URL and a task name that disagree can never agree on a retry: rejected, not retried into the DLQ.
    mismatch = fire(client, "expire-ledger", url="/periodic/daily-digest")
    assert mismatch.status_code == 200 and body(mismatch)["status"] == "rejected"
    assert "X-Aws-Sqsd-Taskname says 'expire-ledger'" in body(mismatch)["reason"]


def test_every_cron_yaml_task_has_a_handler(worker):
    cron = yaml.safe_load((ROOT / "cron.yaml").read_text())
    assert cron["version"] == 1
    client = worker.test_client()
    for entry in cron["cron"]:
        response = fire(client, entry["name"], url=entry["url"])
        assert response.status_code == 200, (entry, response.get_data(as_text=True))
        assert body(response)["status"] == "done"


def test_reconcile_completes_arrived_uploads_and_fails_the_others(worker, aws, cloud):
    user_id = make_user(worker)
    s3 = aws_client(cloud, "s3")
    long_ago = utcnow() - timedelta(hours=2)
    with worker.extensions["database"].write() as session:
        arrived = Upload(user_id=user_id, s3_key=f"uploads/{user_id}/a.png", filename="a.png",
                         content_type="image/png", state="pending", created_at=long_ago)
        lost = Upload(user_id=user_id, s3_key=f"uploads/{user_id}/b.png", filename="b.png",
                      content_type="image/png", state="pending", created_at=long_ago)
        fresh = Upload(user_id=user_id, s3_key=f"uploads/{user_id}/c.png", filename="c.png",
                       content_type="image/png", state="pending")
        session.add_all([arrived, lost, fresh])
    s3.put_bucket_versioning(Bucket=aws["UPLOADS_BUCKET"], VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=aws["UPLOADS_BUCKET"], Key=arrived.s3_key, Body=b"png")["VersionId"]
    response = fire(worker.test_client(), "reconcile-uploads")
    assert body(response)["result"] == {"completed": 1, "failed": 1}
    with worker.extensions["database"].read() as session:
        states = {u.filename: (u.state, u.s3_version_id) for u in session.scalars(select(Upload))}
    # Completed as the web app completes: with the version found, the one image.variants will read.
    assert states == {"a.png": ("uploaded", version), "b.png": ("failed", None), "c.png": ("pending", None)}
    queued = aws_client(cloud, "sqs").receive_message(QueueUrl=aws["WORKER_QUEUE_URL"], MaxNumberOfMessages=10)
    tasks_queued = sorted(Envelope.from_json(m["Body"]).task for m in queued["Messages"])
    assert tasks_queued == ["email.send", "image.variants"]


def test_push_notification_is_sent_once(worker, cloud):
    sns = aws_client(cloud, "sns")
    app_arn = sns.create_platform_application(Name=f"app-{uuid.uuid4().hex[:6]}", Platform="GCM",
                                              Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=uuid.uuid4().hex)["EndpointArn"]
    envelope = Envelope("push.send", {"target_arn": endpoint, "message": "Your image is ready", "title": "Ready"})
    client = worker.test_client()
    assert body(deliver(client, envelope))["status"] == "done"
    assert body(deliver(client, envelope))["status"] == "duplicate"
    from moto.sns.models import sns_backends
    published = sns_backends["123456789012"]["us-east-1"].platform_endpoints[endpoint].messages
    assert len(published) == 1
    rejected = deliver(client, Envelope("push.send", {"target_arn": "not-an-arn", "message": "x"}))
    assert body(rejected)["status"] == "rejected"


def test_expire_sessions_gives_every_session_a_ttl(worker, redis_server):
    store = redis.Redis.from_url(redis_server.url)
    store.set("session:immortal", b"x")
    store.set("session:mortal", b"y", ex=60)
    store.set("unrelated", b"z")
    result = body(fire(worker.test_client(), "expire-sessions", scheduled_at=f"{uuid.uuid4()}"))["result"]
    assert result["fixed"] >= 1
    assert 0 < store.ttl("session:immortal") <= 14 * 24 * 3600
    assert 0 < store.ttl("session:mortal") <= 60
    assert store.ttl("unrelated") == -1


def test_the_ledger_survives_its_connections_being_cut(worker, mariadb):
    """The ledger's own pool has no pre-ping (worker/ledger.py): a statement that finds its connection dead,
    as after a failover or a server restart, runs once more on a new one instead of failing the task."""
    client = worker.test_client()
    assert body(deliver(client, email_envelope()))["status"] == "done"  # the pools hold open connections now
    with mariadb.root() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM information_schema.processlist WHERE user = %s", (mariadb.USER,))
        for (connection_id,) in cursor.fetchall():
            cursor.execute(f"KILL CONNECTION {int(connection_id)}")
    envelope = email_envelope()
    answer = deliver(client, envelope)
    assert answer.status_code == 200 and body(answer)["status"] == "done", body(answer)
    assert ledger_row(worker, envelope.idempotency_key).state == "done"
