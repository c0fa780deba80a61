"""An emulator of Elastic Beanstalk's worker daemon (sqsd) and its cron leader.

As on a worker instance: long-poll the queue, POST each message to the app with
sqsd's headers and at most HttpConnections requests in flight; 200 deletes the
message, any other answer (or none within InactivityTimeout) makes it visible
again after ErrorVisibilityTimeout, and the queue's redrive policy (maxReceiveCount
= MaxRetries) moves it to the dead-letter queue. The cron leader queues each
cron.yaml task when its schedule is due, as a message with the beanstalk.sqsd.*
attributes; delivering that message POSTs to the task's url with the
X-Aws-Sqsd-Taskname and X-Aws-Sqsd-Scheduled-At headers.
Source: EB developer guide, "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from eb_tools.formats.cronfile import CronTask

log = logging.getLogger(__name__)
USER_AGENT = "aws-sqsd/3.0.4"
PERIODIC_BODY = "elasticbeanstalk scheduled job"
ATTR_PATH = "beanstalk.sqsd.path"
ATTR_TASK = "beanstalk.sqsd.task_name"
ATTR_SCHEDULED = "beanstalk.sqsd.scheduled_time"


@dataclass(frozen=True)
class SqsdOptions:
    """The aws:elasticbeanstalk:sqsd options, with EB's defaults."""

    http_path: str = "/"
    mime_type: str = "application/json"
    http_connections: int = 50
    connect_timeout: int = 5
    inactivity_timeout: int = 180
    visibility_timeout: int = 300
    error_visibility_timeout: int = 300
    max_retries: int = 10
    wait_time_seconds: int = 20  # SQS long polling, as sqsd does

    @classmethod
    def from_settings(cls, settings: Mapping[tuple[str, str], str], wait_time_seconds: int = 20) -> SqsdOptions:
        """The options a worker environment's aws:elasticbeanstalk:sqsd settings give sqsd (EB's defaults for
        the rest)."""
        fields: dict[str, Any] = {}
        for option, field_name in SETTINGS.items():
            value = settings.get((NAMESPACE, option))
            if value:
                fields[field_name] = value if option in ("HttpPath", "MimeType") else int(value)
        return cls(**fields, wait_time_seconds=wait_time_seconds)


NAMESPACE = "aws:elasticbeanstalk:sqsd"
SETTINGS = {  # option name -> SqsdOptions field
    "HttpPath": "http_path", "MimeType": "mime_type", "HttpConnections": "http_connections",
    "ConnectTimeout": "connect_timeout", "InactivityTimeout": "inactivity_timeout",
    "VisibilityTimeout": "visibility_timeout", "ErrorVisibilityTimeout": "error_visibility_timeout",
    "MaxRetries": "max_retries",
}


def _iso(epoch_ms: str | None) -> str:
    moment = datetime.fromtimestamp(int(epoch_ms or 0) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Sqsd:
    def __init__(self, sqs: Any, queue_url: str, app_url: str | Callable[[], str | None],
                 options: SqsdOptions = SqsdOptions(), cron: list[CronTask] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """`app_url`: where the worker app answers, or how to find it at each delivery (the worker instance
        sqsd runs on, which a deployment may replace; None while no instance is in service: EB stops sqsd on
        an instance it deploys to, eb-engine.log's "Executing instruction: stopSqsd", so nothing is taken
        from the queue until one is back)."""
        self.sqs, self.queue_url, self.options = sqs, queue_url, options
        self._app_url = app_url
        self.cron = [] if queue_url.endswith(".fifo") else list(cron or [])  # FIFO queues have no periodic tasks
        self.clock = clock or (lambda: datetime.now(UTC))
        self.queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._stop = threading.Event()
        self._slots = threading.Condition()
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(max_workers=options.http_connections, thread_name_prefix="sqsd")
        self._threads: list[threading.Thread] = []
        self._local = threading.local()  # a requests.Session per delivering thread: sessions are not thread-safe

    def app_url(self) -> str | None:
        """Where this delivery goes (None: no worker instance in service now)."""
        found = self._app_url() if callable(self._app_url) else self._app_url
        return found.rstrip("/") if found else None

    def start(self) -> Sqsd:
        self._apply_max_retries()
        self._threads = [threading.Thread(target=self._poll_loop, name="sqsd-poll", daemon=True)]
        if self.cron:
            self._threads.append(threading.Thread(target=self._cron_loop, name="sqsd-cron", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._slots:
            self._stop.set()
            self._slots.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.options.wait_time_seconds + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def fire_due(self, now: datetime) -> list[str]:
        """As the cron leader: queue every task due in `now`'s minute; return their names."""
        minute = now.replace(second=0, microsecond=0)
        due = [task for task in self.cron if task.schedule.matches(minute)]
        for task in due:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=PERIODIC_BODY, MessageAttributes={
                ATTR_PATH: {"DataType": "String", "StringValue": task.url},
                ATTR_TASK: {"DataType": "String", "StringValue": task.name},
                ATTR_SCHEDULED: {"DataType": "String", "StringValue": minute.strftime("%Y-%m-%dT%H:%M:%SZ")},
            })
        return [task.name for task in due]

    def _apply_max_retries(self) -> None:
        """MaxRetries is the queue's maxReceiveCount, as EB sets it on the worker queue."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if policy:
            redrive = json.loads(policy)
            redrive["maxReceiveCount"] = self.options.max_retries
            self.sqs.set_queue_attributes(QueueUrl=self.queue_url,
                                          Attributes={"RedrivePolicy": json.dumps(redrive)})

    def _cron_loop(self) -> None:
        last_minute = None
        while not self._stop.wait(1):
            minute = self.clock().replace(second=0, microsecond=0)
            if minute != last_minute:
                if last_minute is not None:  # not the minute we started in: it may be half over
                    self.lead(minute)
                last_minute = minute

    def lead(self, minute: datetime) -> list[str]:
        """The cron leader's minute: the tasks due queued (fire_due), but none while no worker instance is in
        service, since the leader is one of them (EB guide, worker environments: "Elastic Beanstalk uses leader
        election to determine which instance in your worker environment queues the periodic task"): at no
        instance, scaled to zero by a schedule or its one instance in a deployment, no periodic task is queued."""
        return self.fire_due(minute) if self.app_url() is not None else []

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            with self._slots:
                while self._in_flight >= self.options.http_connections and not self._stop.is_set():
                    self._slots.wait()
                free = self.options.http_connections - self._in_flight
            if self._stop.is_set():
                return
            if self.app_url() is None:  # stopped for a deployment: the queue keeps its messages
                self._stop.wait(0.5)
                continue
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, free),
                    WaitTimeSeconds=self.options.wait_time_seconds, VisibilityTimeout=self.options.visibility_timeout,
                    AttributeNames=["All"], MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:  # the endpoint went away or hiccuped: sqsd keeps polling
                log.exception("sqsd: receiving from %s failed", self.queue_name)
                self._stop.wait(1)
                continue
            for message in messages:
                with self._slots:  # stop() sets the flag under this lock: once set, the pool takes no more
                    stopping = self._stop.is_set()
                    if not stopping:
                        self._in_flight += 1
                        self._pool.submit(self._deliver, message)
                if stopping:
                    self._release(message)  # back in the queue at once, for whoever polls next

    def _release(self, message: dict[str, Any]) -> None:
        """Make a received message visible again now, for whoever polls next."""
        try:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                               VisibilityTimeout=0)
        except Exception:  # the endpoint is going away too: the message reappears after its timeout
            log.warning("sqsd: could not release %s", message.get("MessageId"))

    def _http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            path, headers = self.request_for(message)
            url = self.app_url()
            if url is None:  # the instance went into a deployment after the receive: back for the next poll
                self._release(message)
                return
            try:
                response = self._http().post(url + path, data=message["Body"].encode(), headers=headers,
                                           timeout=(self.options.connect_timeout, self.options.inactivity_timeout))
                status = response.status_code
            except requests.RequestException as exc:
                log.warning("sqsd: %s got no answer: %s", message["MessageId"], exc)
                status = None
            if status == 200:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                   VisibilityTimeout=self.options.error_visibility_timeout)
        except Exception:
            log.exception("sqsd: delivering %s failed", message.get("MessageId"))
        finally:
            with self._slots:
                self._in_flight -= 1
                self._slots.notify()

    def request_for(self, message: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """The path and headers sqsd sends for this message."""
        attributes = message.get("Attributes", {})
        custom = message.get("MessageAttributes", {})
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": self.options.mime_type,
            "X-Aws-Sqsd-Msgid": message["MessageId"],
            "X-Aws-Sqsd-Queue": self.queue_name,
            "X-Aws-Sqsd-First-Received-At": _iso(attributes.get("ApproximateFirstReceiveTimestamp")),
            "X-Aws-Sqsd-Receive-Count": attributes.get("ApproximateReceiveCount", "1"),
            "X-Aws-Sqsd-Sender-Id": attributes.get("SenderId", ""),
        }
        for name, value in custom.items():
            kind = value.get("DataType", "").split(".")[0]
            if not name.startswith("beanstalk.sqsd.") and kind in ("String", "Number"):
                headers[f"X-Aws-Sqsd-Attr-{name}"] = value["StringValue"]
        if ATTR_PATH in custom:
            headers["X-Aws-Sqsd-Taskname"] = custom.get(ATTR_TASK, {}).get("StringValue", "")
            headers["X-Aws-Sqsd-Scheduled-At"] = custom.get(ATTR_SCHEDULED, {}).get("StringValue", "")
            return custom[ATTR_PATH]["StringValue"], headers
        return self.options.http_path, headers
