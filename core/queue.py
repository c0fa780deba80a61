"""The task envelope and the enqueue helper shared by the web and worker apps.

A message on the worker queue is a versioned JSON envelope. The idempotency key
travels with it, so a task the queue delivers twice runs its side effect once.
"""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from core import logs
from core.aws import client
from core.settings import Settings

ENVELOPE_VERSION = 1
MAX_KEY_LENGTH = 191  # the ledger's primary key column
SQS_BATCH_LIMIT = 10
log = logging.getLogger(__name__)


class EnvelopeError(ValueError):
    """A message body that is not a valid envelope; the text says what is wrong."""


class QueueNotConfigured(RuntimeError):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace_id() -> str:
    """The trace of the request or task queuing it (core/logs.py), so the worker's lines carry it too."""
    return logs.current("trace_id") or logs.new_trace_id()


@dataclass(frozen=True)
class Envelope:
    task: str
    args: dict[str, Any]
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    enqueued_at: str = field(default_factory=_now)
    trace_id: str = field(default_factory=_trace_id)
    v: int = ENVELOPE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, body: str | bytes) -> Envelope:
        """Parse and validate a message body; raise EnvelopeError naming the problem."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise EnvelopeError("body is not JSON") from None
        except RecursionError:  # json's parser recurses per level: a deep body exhausts Python's stack
            raise EnvelopeError("body is nested too deeply") from None
        if not isinstance(data, dict):
            raise EnvelopeError("body is not a JSON object")
        if type(data.get("v")) is not int or data["v"] != ENVELOPE_VERSION:  # not true, not 1.0
            shown = repr(data.get("v"))[:20] if isinstance(data.get("v"), (int, str)) else type(data.get("v")).__name__
            raise EnvelopeError(f"unsupported envelope version {shown}")
        expected = {"task": str, "args": dict, "idempotency_key": str, "enqueued_at": str}
        for name, kind in expected.items():
            if not isinstance(data.get(name), kind):
                raise EnvelopeError(f"field {name!r} is missing or not a {kind.__name__}")
        if "trace_id" in data and not isinstance(data["trace_id"], str):  # older envelopes have none: a new one
            raise EnvelopeError("field 'trace_id' is not a str")
        unknown = set(data) - set(expected) - {"v", "trace_id"}
        if unknown:
            raise EnvelopeError(f"unknown fields {sorted(unknown)}")
        if not data["task"] or not 0 < len(data["idempotency_key"]) <= MAX_KEY_LENGTH:
            raise EnvelopeError("task name or idempotency key is empty or too long")
        for name in (expected.keys() - {"args"}) | (data.keys() & {"trace_id"}):
            try:
                data[name].encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (\ud800): JSON allows it, no database takes it
                raise EnvelopeError(f"field {name!r} is not valid Unicode") from None
        return cls(**data)


def enqueue(settings: Settings, *envelopes: Envelope) -> list[str]:
    """Send envelopes to the worker queue in one batch; return their message ids."""
    if not settings.worker_queue_url:
        raise QueueNotConfigured("WORKER_QUEUE_URL is not set")
    if not envelopes:
        return []
    entries = [
        {
            "Id": str(index),
            "MessageBody": envelope.to_json(),
            "MessageAttributes": {"task": {"DataType": "String", "StringValue": envelope.task}},
        }
        for index, envelope in enumerate(envelopes)
    ]
    sqs = client(settings, "sqs")
    by_id: dict[str, str] = {}
    for start in range(0, len(entries), SQS_BATCH_LIMIT):
        response = sqs.send_message_batch(
            QueueUrl=settings.worker_queue_url, Entries=entries[start : start + SQS_BATCH_LIMIT]
        )
        if response.get("Failed"):
            failed = response["Failed"][0]
            raise RuntimeError(f"SQS refused message {failed['Id']}: {failed.get('Code')}")
        by_id.update((item["Id"], item["MessageId"]) for item in response["Successful"])
    for envelope in envelopes:  # never its arguments: a sign-up's link holds its token
        log.info("queued %.100s", envelope.task, extra={"queued_key": envelope.idempotency_key})
    return [by_id[str(index)] for index in range(len(envelopes))]
