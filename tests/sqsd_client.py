"""Deliver a message to the worker app the way sqsd does (headers per the EB developer guide)."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from core.queue import Envelope


def sqsd_headers(msgid: str | None = None, receive_count: int = 1, **extra: str) -> dict[str, str]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "User-Agent": "aws-sqsd/3.0.4",
        "X-Aws-Sqsd-Msgid": msgid or str(uuid.uuid4()),
        "X-Aws-Sqsd-Queue": "worker-queue",
        "X-Aws-Sqsd-First-Received-At": now,
        "X-Aws-Sqsd-Receive-Count": str(receive_count),
        "X-Aws-Sqsd-Sender-Id": "AIDAEXAMPLE",
        **extra,
    }


def deliver(client, envelope: Envelope | str | bytes, msgid: str | None = None, receive_count: int = 1):
    body = envelope.to_json() if isinstance(envelope, Envelope) else envelope
    return client.post("/", data=body, content_type="application/json",
                       headers=sqsd_headers(msgid, receive_count))


def fire(client, name: str, url: str | None = None, scheduled_at: str = "2026-11-25T07:05:00Z", **extra: str):
    headers = sqsd_headers(**{"X-Aws-Sqsd-Taskname": name, "X-Aws-Sqsd-Scheduled-At": scheduled_at, **extra})
    return client.post(url or f"/periodic/{name}", data="elasticbeanstalk scheduled job",
                       content_type="application/json", headers=headers)


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True))
