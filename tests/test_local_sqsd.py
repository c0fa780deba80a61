"""The sqsd emulator: sqsd's headers, 200 deletes, retries then the DLQ, the connection limit, cron."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from eb_tools.formats.cron import Schedule
from eb_tools.formats.cronfile import CronTask
from eb_tools.local.sqsd import Sqsd, SqsdOptions
from tests.conftest import aws_client


class Recorder:
    """A stand-in worker app: records each request, answers `status` after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request: Request) -> Response:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append({"path": request.path, "headers": dict(request.headers),
                                  "body": request.get_data(as_text=True)})
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        return Response("ok", status=self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(daemon: Sqsd) -> Iterator[Sqsd]:
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def queues(cloud):
    sqs = aws_client(cloud, "sqs")
    suffix = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"work-{suffix}", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10"})})["QueueUrl"]
    return sqs, queue, dlq


def count(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_delivers_with_sqsds_headers_and_deletes_on_200(queues):
    sqs, queue, _ = queues
    app = Recorder()
    sent = sqs.send_message(QueueUrl=queue, MessageBody='{"task": "x"}', MessageAttributes={
        "task": {"DataType": "String", "StringValue": "email.send"},
        "priority": {"DataType": "Number", "StringValue": "5"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00"},
    })
    with running(Sqsd(sqs, queue, app.url, SqsdOptions(http_path="/tasks", wait_time_seconds=1))):
        wait_until(lambda: app.requests and count(sqs, queue) == 0, 20, "the message answered and deleted")
    request = app.requests[0]
    headers = request["headers"]
    assert request["path"] == "/tasks" and request["body"] == '{"task": "x"}'
    assert headers["User-Agent"].startswith("aws-sqsd/")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Aws-Sqsd-Msgid"] == sent["MessageId"]
    assert headers["X-Aws-Sqsd-Queue"] == queue.rsplit("/", 1)[-1]
    assert headers["X-Aws-Sqsd-Receive-Count"] == "1"
    assert datetime.strptime(headers["X-Aws-Sqsd-First-Received-At"], "%Y-%m-%dT%H:%M:%SZ")
    assert headers["X-Aws-Sqsd-Attr-Task"] == "email.send" and headers["X-Aws-Sqsd-Attr-Priority"] == "5"
    assert not any("blob" in name.lower() for name in headers)
    assert "X-Aws-Sqsd-Taskname" not in headers


def test_failures_are_retried_then_dead_lettered(queues):
    sqs, queue, dlq = queues
    app = Recorder(status=500)
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    options = SqsdOptions(max_retries=3, error_visibility_timeout=0, wait_time_seconds=1)
    with running(Sqsd(sqs, queue, app.url, options)):
        wait_until(lambda: count(sqs, dlq) == 1, 20, "the message in the dead-letter queue")
    assert [r["headers"]["X-Aws-Sqsd-Receive-Count"] for r in app.requests] == ["1", "2", "3"]
    assert count(sqs, queue) == 0
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
                         ["Attributes"]["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 3


def test_no_answer_within_the_inactivity_timeout_is_a_retry(queues):
    sqs, queue, _ = queues
    app = Recorder(delay=2)
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    options = SqsdOptions(inactivity_timeout=1, error_visibility_timeout=0, wait_time_seconds=1)
    with running(Sqsd(sqs, queue, app.url, options)):
        wait_until(lambda: len(app.requests) >= 2, 20, "a redelivery after the error")
    assert app.requests[1]["headers"]["X-Aws-Sqsd-Receive-Count"] == "2"


def test_no_instance_in_service_takes_nothing_from_the_queue(queues):
    """While its worker instance is in a deployment (EB's stopSqsd), sqsd receives nothing: the message waits
    in the queue, received once it is back, not made invisible for ErrorVisibilityTimeout by a refused POST."""
    sqs, queue, _ = queues
    app, instance = Recorder(), {"url": None}
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    options = SqsdOptions(error_visibility_timeout=300, wait_time_seconds=1)
    with running(Sqsd(sqs, queue, lambda: instance["url"], options)):
        time.sleep(1.5)
        waiting = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        instance["url"] = app.url
        wait_until(lambda: app.requests and count(sqs, queue) == 0, 20, "the message delivered once it is back")
    assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "1"
    assert [r["headers"]["X-Aws-Sqsd-Receive-Count"] for r in app.requests] == ["1"]


def test_http_connections_limits_requests_in_flight(queues):
    sqs, queue, _ = queues
    app = Recorder(delay=0.4)
    for index in range(6):
        sqs.send_message(QueueUrl=queue, MessageBody=str(index))
    with running(Sqsd(sqs, queue, app.url, SqsdOptions(http_connections=2, wait_time_seconds=1))):
        wait_until(lambda: count(sqs, queue) == 0, 20, "the queue drained")
    assert sorted(r["body"] for r in app.requests) == [str(i) for i in range(6)]
    assert app.max_in_flight == 2


def test_cron_fires_due_tasks_with_the_periodic_headers(queues):
    sqs, queue, _ = queues
    app = Recorder()
    cron = [CronTask("reconcile", "/periodic/reconcile", Schedule.parse("*/5 * * * *")),
            CronTask("digest", "/periodic/digest", Schedule.parse("5 7 * * *"))]
    daemon = Sqsd(sqs, queue, app.url, SqsdOptions(wait_time_seconds=1), cron=cron)
    assert daemon.fire_due(datetime(2026, 11, 25, 7, 6, 30, tzinfo=UTC)) == []
    assert daemon.fire_due(datetime(2026, 11, 25, 7, 5, 42, tzinfo=UTC)) == ["reconcile", "digest"]
    with running(daemon):
        wait_until(lambda: len(app.requests) == 2 and count(sqs, queue) == 0, 20, "both periodic tasks delivered")
    by_path = {r["path"]: r["headers"] for r in app.requests}
    assert set(by_path) == {"/periodic/reconcile", "/periodic/digest"}
    assert by_path["/periodic/digest"]["X-Aws-Sqsd-Taskname"] == "digest"
    assert by_path["/periodic/digest"]["X-Aws-Sqsd-Scheduled-At"] == "2026-11-25T07:05:00Z"
    assert not any(name.startswith("X-Aws-Sqsd-Attr-Beanstalk") for name in by_path["/periodic/digest"])


def test_fifo_queues_have_no_periodic_tasks(queues):
    sqs, _, _ = queues
    fifo = sqs.create_queue(QueueName=f"w-{uuid.uuid4().hex[:6]}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    daemon = Sqsd(sqs, fifo, "http://127.0.0.1:1", cron=[CronTask("x", "/x", Schedule.parse("* * * * *"))])
    assert daemon.fire_due(datetime.now(UTC)) == []


def test_no_periodic_task_is_queued_while_no_worker_instance_is_in_service(queues):
    """EB's cron leader is one of the worker instances: a worker scaled to none (asleep by its schedule) queues
    no cron.yaml task; one back in service does."""
    sqs, queue, _ = queues
    instance = {"url": None}
    cron = [CronTask("reconcile", "/periodic/reconcile", Schedule.parse("*/5 * * * *"))]
    daemon = Sqsd(sqs, queue, lambda: instance["url"], SqsdOptions(wait_time_seconds=1), cron=cron)
    due = datetime(2026, 11, 25, 7, 5, tzinfo=UTC)
    assert daemon.lead(due) == [] and count(sqs, queue) == 0
    instance["url"] = "http://127.0.0.1:1"
    assert daemon.lead(due) == ["reconcile"] and count(sqs, queue) == 1
