"""S3 and SQS unreachable for a while, as the apps see it: nothing half-recorded, nothing lost, nothing hangs.

The web and worker apps (the Procfile's gunicorn) reach the emulated AWS (eb_tools/cloud/server.py) through
tests/chaos/tcp_proxy.py, which goes silent (a blackhole: packets vanish, nothing is reset, as in a network
partition, the hardest case for timeouts) and then comes back. sqsd, AWS's daemon, keeps its own way to SQS.

1. Web: browsers' files are in the bucket; during the outage POST /uploads/<id>/complete answers 503 within
   the client's timeout, the upload stays pending and nothing is queued; once AWS is back the retry completes,
   and the queue holds exactly the two tasks of each upload, once.
2. SQS alone refused (S3 answers): complete finds the file but cannot queue its tasks: 503 again, the upload
   stays pending (the row is recorded only after the tasks are queued), and the retry queues them once.
3. Worker: sqsd delivers those tasks while the worker cannot reach S3 or SES: each delivery fails (500),
   sqsd retries after ErrorVisibilityTimeout (2 s here), and once the outage ends each task ends done, each
   upload ready, one email per upload, nothing in the dead-letter queue.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from core import db, migrate
from core.settings import Settings
from eb_tools.aws import LOCAL_REGION, WaitTimeout, wait_until
from eb_tools.cloud.server import LocalCloud
from eb_tools.local.sqsd import Sqsd, SqsdOptions
from tests.chaos.app_stage import Gunicorn, logged_in_browser, stage_env
from tests.chaos.report import Row
from tests.chaos.tcp_proxy import TcpProxy
from tests.cloud_clients import local_client
from tests.servers import MariaDBServer, RedisServer

CLIENT_TIMEOUT = 20.0  # a browser's wait; the app must answer 503 well within it
DATABASE = "app"
SETTLE_TIMEOUT = 90.0  # bound on waiting for the worker to finish everything after the outage


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64 + seed % 7, 48), (seed * 37 % 256, 90, 160)).save(out, "PNG")
    return out.getvalue()


class Stage:
    """A database, a Redis, the emulated AWS behind a proxy, the web and worker apps; bucket, queue, DLQ."""

    def __init__(self, work: Path, cloud: LocalCloud) -> None:
        self.work, self.cloud = work, cloud
        self.mariadb = MariaDBServer(work / "mariadb").start()
        self.redis = RedisServer(work / "redis").start()
        self.proxy = TcpProxy((cloud.host, cloud.port)).start()
        suffix = uuid.uuid4().hex[:10]
        self.bucket, self.sender = f"uploads-{suffix}", f"no-reply@{suffix}.example.com"
        s3, sqs, self.ses = (local_client(name, cloud.url) for name in ("s3", "sqs", "ses"))
        s3.create_bucket(Bucket=self.bucket)
        s3.create_bucket(Bucket=f"backups-{suffix}")
        self.ses.verify_email_identity(EmailAddress=self.sender)
        cloud.verify_email_identity(LOCAL_REGION, self.sender)
        self.dlq_url = sqs.create_queue(QueueName=f"worker-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_url = sqs.create_queue(QueueName=f"worker-{suffix}", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10"})})["QueueUrl"]
        self.sqs = sqs
        self.env = stage_env(
            self.mariadb.create_database(DATABASE), self.redis.url, f"http://127.0.0.1:{self.proxy.port}",
            work / "data", UPLOADS_BUCKET=self.bucket, BACKUP_BUCKET=f"backups-{suffix}",
            WORKER_QUEUE_URL=self.queue_url, MAIL_FROM=self.sender)
        database = db.from_settings(Settings.from_env(self.env))
        migrate.upgrade(database)
        database.dispose()
        self.web = Gunicorn(self.env, work / "web.log").start()
        self.worker = Gunicorn(self.env, work / "worker.log", role="worker").start()

    def stop(self) -> None:
        for stop in (self.worker.stop, self.web.stop, self.proxy.stop, self.redis.stop, self.mariadb.stop):
            stop()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.mariadb.root() as conn, conn.cursor() as cur:
            cur.execute(f"USE `{DATABASE}`")
            cur.execute(sql)
            return list(cur.fetchall())

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def queued_keys(self) -> list[str]:
        """The idempotency keys of every message in the queue (received, then made visible again)."""
        keys: list[str] = []
        handles: list[str] = []
        for _ in range(50):
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            keys += [json.loads(m["Body"])["idempotency_key"] for m in messages]
            handles += [m["ReceiptHandle"] for m in messages]
        for handle in handles:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return keys

    def emails_sent(self) -> int:
        return int(self.ses.get_send_quota()["SentLast24Hours"])


def _complete(browser: requests.Session, token: str, base_url: str, upload_id: int,
              says: str = "") -> tuple[int | None, float]:
    """Status and seconds of one POST .../complete; a 503 that does not contain `says` counts as status 0."""
    started = time.monotonic()
    try:
        response = browser.post(f"{base_url}/uploads/{upload_id}/complete", headers={"X-CSRFToken": token},
                                json={}, timeout=(2, CLIENT_TIMEOUT))
        status: int | None = 0 if response.status_code == 503 and says not in response.text else response.status_code
    except requests.RequestException:
        status = None
    return status, time.monotonic() - started


def _prepare_uploads(stage: Stage, count: int) -> list[tuple[requests.Session, str, int]]:
    """`count` uploads whose files are in the bucket (sent with the presigned POST), not yet completed."""
    browsers = [logged_in_browser(stage.web.url, stage.env["DATABASE_URL"]) for _ in range(2)]
    prepared = []
    for index in range(count):
        browser, token = browsers[index % len(browsers)]
        data = _png(index)
        created = browser.post(f"{stage.web.url}/uploads", headers={"X-CSRFToken": token}, timeout=10,
                               json={"filename": f"{index}.png", "content_type": "image/png", "size": len(data)})
        created.raise_for_status()
        body = created.json()
        sent = requests.post(body["post"]["url"], data=body["post"]["fields"],
                             files={"file": (f"{index}.png", data, "image/png")}, timeout=10)
        if sent.status_code not in (200, 201, 204):
            raise RuntimeError(f"the presigned POST answered {sent.status_code}: {sent.text[:300]}")
        prepared.append((browser, token, int(body["id"])))
    return prepared


def web_rows(stage: Stage, uploads: list[tuple[requests.Session, str, int]], outage: float) -> list[Row]:
    scenario = "S3/SQS down: web"
    url = stage.web.url
    before = uploads[:2]
    for browser, token, upload_id in before:
        status, _ = _complete(browser, token, url, upload_id)
        if status != 200:
            raise RuntimeError(f"completing upload {upload_id} before the outage answered {status}")
    during = uploads[2:]
    stage.proxy.set_mode("blackhole")
    began = time.monotonic()

    def retry_until_outage_ends(browser: requests.Session, token: str, upload_id: int) -> list[tuple[int | None,
                                                                                                     float]]:
        tried = [_complete(browser, token, url, upload_id, says="storage could not be reached")]
        while time.monotonic() - began < outage:
            tried.append(_complete(browser, token, url, upload_id, says="storage could not be reached"))
        return tried

    with ThreadPoolExecutor(max_workers=len(during)) as pool:  # each browser retries its own, at once
        answers = [answer for tried in pool.map(lambda u: retry_until_outage_ends(*u), during) for answer in tried]
    ids = ",".join(str(upload_id) for _, _, upload_id in during)
    half = stage.query(f"SELECT COUNT(*) FROM uploads WHERE id IN ({ids}) AND state != 'pending'")[0][0]
    queued_in_outage = stage.queued() - 2 * len(before)
    stage.proxy.set_mode("forward")
    back = time.monotonic()
    first_ok: float | None = None
    for browser, token, upload_id in during:
        # 409: a request the outage had held completed it once AWS was back; the retry queues nothing more.
        status, _ = _complete(browser, token, url, upload_id)
        if status in (200, 409) and first_ok is None:
            first_ok = time.monotonic() - back
        if status not in (200, 409):
            raise RuntimeError(f"completing upload {upload_id} after the outage answered {status}")
    keys = stage.queued_keys()
    expected = {f"upload:{upload_id}:{task}" for _, _, upload_id in uploads for task in ("variants", "email")}
    exact = sorted(keys) == sorted(expected)
    unclear = [status for status, _ in answers if status != 503]
    slowest = max((seconds for _, seconds in answers), default=0.0)
    recovery = first_ok if first_ok is not None else float("inf")
    return [
        Row(scenario, "completes answered 503 during the outage", f"{len(answers) - len(unclear)}/{len(answers)}",
            "all", bool(answers) and not unclear),
        Row(scenario, f"slowest answer during the outage (limit {CLIENT_TIMEOUT:g} s)", f"{slowest:.2f} s",
            f"< {CLIENT_TIMEOUT:g} s", slowest < CLIENT_TIMEOUT),
        Row(scenario, "half-recorded (completed or queued in outage)", str(half + max(0, queued_in_outage)), "0",
            half == 0 and queued_in_outage == 0),
        Row(scenario, "tasks queued once per upload after retry", f"{len(keys)}/{len(expected)}", "exactly",
            exact),
        Row(scenario, "time to first complete after AWS back", f"{recovery:.2f} s", "< 5 s", recovery < 5),
    ]


def _is_sqs(first_bytes: bytes) -> bool:
    """An SQS request: SigV4 names the service in the credential scope."""
    return b"/sqs/aws4_request" in first_bytes


def sqs_down_rows(stage: Stage, uploads: list[tuple[requests.Session, str, int]]) -> list[Row]:
    scenario = "SQS refused: web"
    url = stage.web.url
    queued_before = stage.queued()
    stage.proxy.refuse_matching(_is_sqs)
    answers = [_complete(browser, token, url, upload_id, says="could not be queued")
               for browser, token, upload_id in uploads]
    ids = ",".join(str(upload_id) for _, _, upload_id in uploads)
    half = stage.query(f"SELECT COUNT(*) FROM uploads WHERE id IN ({ids}) AND state != 'pending'")[0][0]
    queued_in_outage = stage.queued() - queued_before
    stage.proxy.refuse_matching(None)
    retried = [_complete(browser, token, url, upload_id)[0] for browser, token, upload_id in uploads]
    mine = {f"upload:{upload_id}:{task}" for _, _, upload_id in uploads for task in ("variants", "email")}
    keys = [key for key in stage.queued_keys() if key in mine]
    unclear = [status for status, _ in answers if status != 503]
    slowest = max((seconds for _, seconds in answers), default=0.0)
    return [
        Row(scenario, "completes answered 503 while SQS refused", f"{len(answers) - len(unclear)}/{len(answers)}",
            "all", bool(answers) and not unclear),
        Row(scenario, "slowest answer while SQS refused", f"{slowest:.2f} s", f"< {CLIENT_TIMEOUT:g} s",
            slowest < CLIENT_TIMEOUT),
        Row(scenario, "half-recorded (completed or queued)", str(half + max(0, queued_in_outage)), "0",
            half == 0 and queued_in_outage == 0),
        Row(scenario, "retries completed, tasks queued once", f"{retried.count(200)}/{len(uploads)}, "
            f"{len(keys)}/{len(mine)}", "all, exactly", retried.count(200) == len(uploads) and
            sorted(keys) == sorted(mine)),
    ]


def worker_rows(stage: Stage, uploads: int, outage: float) -> list[Row]:
    scenario = "S3/SQS down: worker"
    emails_before = stage.emails_sent()
    options = SqsdOptions(http_connections=4, visibility_timeout=60, error_visibility_timeout=2,
                          inactivity_timeout=60, wait_time_seconds=1, max_retries=10)
    stage.proxy.set_mode("blackhole")
    sqsd = Sqsd(local_client("sqs", stage.cloud.url), stage.queue_url, stage.worker.url, options).start()
    try:
        time.sleep(outage)
        failed_in_outage = stage.query("SELECT COALESCE(SUM(attempts), 0) FROM task_ledger")[0][0]
        stage.proxy.set_mode("forward")
        back = time.monotonic()

        def settled() -> bool:
            done = stage.query("SELECT COUNT(*) FROM task_ledger WHERE state = 'done'")[0][0]
            return bool(done == 2 * uploads and stage.queued() == 0)

        with contextlib.suppress(WaitTimeout):  # the rows say what was left undone
            wait_until(settled, SETTLE_TIMEOUT, "every task done", interval=0.5)
        settle = time.monotonic() - back
    finally:
        sqsd.stop()
    states = dict(stage.query("SELECT state, COUNT(*) FROM task_ledger GROUP BY state"))
    done = int(states.get("done", 0))
    ready = stage.query("SELECT COUNT(*) FROM uploads WHERE state = 'ready'")[0][0]
    dead = int(stage.sqs.get_queue_attributes(QueueUrl=stage.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])
    emails = stage.emails_sent() - emails_before
    return [
        Row(scenario, "deliveries tried in the outage (answered 500)", str(int(failed_in_outage)), "> 0",
            failed_in_outage > 0),
        Row(scenario, "tasks lost (not done after the outage)", f"{2 * uploads - done}/{2 * uploads}", "0",
            done == 2 * uploads),
        Row(scenario, "messages in the dead-letter queue", str(dead), "0", dead == 0),
        Row(scenario, "uploads ready", f"{ready}/{uploads}", "all", ready == uploads),
        Row(scenario, "emails sent (one per upload)", f"{emails}/{uploads}", "exactly", emails == uploads),
        Row(scenario, "time to all done after AWS back", f"{settle:.1f} s", f"< {SETTLE_TIMEOUT:g} s",
            settle < SETTLE_TIMEOUT),
    ]


def run(long: bool, cloud: LocalCloud | None = None) -> list[Row]:
    """Both halves on one stage; the emulated cloud is started here unless given (a test's session one)."""
    own = cloud is None
    cloud = cloud or LocalCloud(ses_production_access=True).start()
    with tempfile.TemporaryDirectory(prefix="chaos-aws-") as folder:
        stage = Stage(Path(folder), cloud)
        try:
            # At most 6 completes at once while AWS is silent: each holds one of the web app's 8 gunicorn
            # threads for up to ~11 s (core/aws.py), and more would queue behind them past a browser's patience.
            count, sqs_only = (8, 5) if long else (6, 3)
            uploads = _prepare_uploads(stage, count + sqs_only)
            rows = web_rows(stage, uploads[:count], outage=30 if long else 8)
            rows += sqs_down_rows(stage, uploads[count:])
            return rows + worker_rows(stage, count + sqs_only, outage=30 if long else 8)
        finally:
            stage.stop()
            if own:
                cloud.stop()


if __name__ == "__main__":
    for row in run(long=False):
        print(row.line())
