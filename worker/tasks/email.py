"""email.send: one message through SES per idempotency key.

SES's SendEmail has no idempotency token, so a process that dies inside the call
leaves it unknown whether the mail went out. The task marks the call (`sending`)
and, as mail a user waits for (a receipt, a digest), resends on such a crash:
at least once (worker/ledger.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from sqlalchemy import select

from core.aws import client
from core.models import Upload
from worker.ledger import OnCrash
from worker.registry import Range, Reject, RowId, TaskContext, check_arguments, reject_on, shown, tasks

# SES errors that no retry can fix: the message would go to the DLQ for nothing.
PERMANENT_SES_ERRORS = {"MessageRejected", "MailFromDomainNotVerifiedException", "InvalidParameterValue"}
EmailAddress = Annotated[str, Range(3, 254)]  # RFC 5321's limit, and the users table's column


def upload_received(ctx: TaskContext, upload_id: RowId) -> tuple[str, str]:
    with ctx.database.read() as session:
        filename = session.scalar(select(Upload.filename).where(Upload.id == upload_id))
    if filename is None:
        raise Reject(f"upload {upload_id} does not exist")
    return "Your image was received", f"We received {filename} and are preparing it for the web.\n"


def daily_digest(ctx: TaskContext, date: str, count: int) -> tuple[str, str]:
    plural = "image" if count == 1 else "images"
    return f"Your uploads on {date}", f"You uploaded {count} {plural} on {date}.\n"


TEMPLATES: dict[str, Callable[..., tuple[str, str]]] = {
    "upload_received": upload_received,
    "daily_digest": daily_digest,
}


@tasks("email.send", on_crash=OnCrash.RESEND)
def send_email(ctx: TaskContext, to: EmailAddress, template: str, **params: Any) -> dict[str, str]:
    build = TEMPLATES.get(template)
    if build is None:
        raise Reject(f"unknown email template {shown(template)}")
    check_arguments(build, params, f"email template {template}")
    subject, body = build(ctx, **params)
    ctx.sending()
    with reject_on(PERMANENT_SES_ERRORS, "SES"):
        response = client(ctx.settings, "ses").send_email(
            Source=ctx.settings.mail_from,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}},
        )
    return {"message_id": response["MessageId"]}
