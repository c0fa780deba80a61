"""push.send: one notification through SNS (a mobile platform endpoint or a topic) per key.

A FIFO topic (its name ends in .fifo) deduplicates: Publish carries a
MessageDeduplicationId derived from the idempotency key, and SNS accepts but does
not deliver a second message with the same id within its 5-minute deduplication
interval (SNS API reference, Publish), so a resend is harmless there. A standard
topic or a platform endpoint has no such token: the call is marked (`sending`) and a
process dying inside it gives the key up, flagged (at most once: a notification
twice is worse than one missed, and the app shows the state anyway).
"""
from __future__ import annotations

import hashlib
import json

from core.aws import client
from worker.ledger import OnCrash
from worker.registry import Reject, TaskContext, reject_on, shown, tasks

PERMANENT_SNS_ERRORS = {"EndpointDisabled", "NotFound", "InvalidParameter", "InvalidParameterValue"}
MAX_DEDUPLICATION_ID = 128  # characters: alphanumerics and punctuation (SNS API reference, Publish)


def deduplication_id(key: str) -> str:
    """The key itself when SNS accepts it as a MessageDeduplicationId, else its SHA-256."""
    if len(key) <= MAX_DEDUPLICATION_ID and key.isascii() and key.isprintable() and " " not in key:
        return key
    return hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()


@tasks("push.send", on_crash=OnCrash.GIVE_UP)
def send_push(ctx: TaskContext, target_arn: str, message: str, title: str | None = None) -> dict[str, str]:
    if not target_arn.startswith("arn:"):
        raise Reject(f"target_arn {shown(target_arn)} is not an ARN")
    payload = {"default": message}
    if title:
        payload["GCM"] = json.dumps({"notification": {"title": title, "body": message}})
        payload["APNS"] = json.dumps({"aps": {"alert": {"title": title, "body": message}}})
    fifo: dict[str, str] = {}
    if target_arn.endswith(".fifo"):
        fifo = {"MessageGroupId": "push", "MessageDeduplicationId": deduplication_id(ctx.key)}
    else:
        ctx.sending()
    with reject_on(PERMANENT_SNS_ERRORS, "SNS"):
        response = client(ctx.settings, "sns").publish(
            TargetArn=target_arn, Message=json.dumps(payload), MessageStructure="json", **fifo
        )
    return {"message_id": response["MessageId"]}
