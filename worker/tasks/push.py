"""push.send: one notification through SNS (a mobile platform endpoint or a topic) per key."""
from __future__ import annotations

import json

from core.aws import client
from worker.registry import Reject, TaskContext, reject_on, shown, tasks

PERMANENT_SNS_ERRORS = {"EndpointDisabled", "NotFound", "InvalidParameter", "InvalidParameterValue"}


@tasks("push.send")
def send_push(ctx: TaskContext, target_arn: str, message: str, title: str | None = None) -> dict[str, str]:
    if not target_arn.startswith("arn:"):
        raise Reject(f"target_arn {shown(target_arn)} is not an ARN")
    payload = {"default": message}
    if title:
        payload["GCM"] = json.dumps({"notification": {"title": title, "body": message}})
        payload["APNS"] = json.dumps({"aps": {"alert": {"title": title, "body": message}}})
    with reject_on(PERMANENT_SNS_ERRORS, "SNS"):
        response = client(ctx.settings, "sns").publish(
            TargetArn=target_arn, Message=json.dumps(payload), MessageStructure="json"
        )
    return {"message_id": response["MessageId"]}
