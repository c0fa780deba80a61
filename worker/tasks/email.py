"""email.send: one message through SES per idempotency key.

SES's SendEmail has no idempotency token, so a process that dies inside the call
leaves it unknown whether the mail went out. The task marks the call (`sending`)
and, as mail a user waits for (a receipt, a digest, a sign-up's link), resends on
such a crash: at least once (worker/ledger.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from sqlalchemy import select

from core import verification
from core.aws import client
from core.models import Upload
from worker.ledger import OnCrash
from worker.registry import Range, Reject, RowId, TaskContext, check_arguments, reject_on, shown, tasks

# SES errors that no retry can fix: the message would go to the DLQ for nothing.
PERMANENT_SES_ERRORS = {"MessageRejected", "MailFromDomainNotVerifiedException", "InvalidParameterValue"}
EmailAddress = Annotated[str, Range(3, 254)]  # RFC 5321's limit, and the users table's column
Link = Annotated[str, Range(10, 2048)]


def upload_received(ctx: TaskContext, upload_id: RowId) -> tuple[str, str]:
    with ctx.database.read() as session:
        filename = session.scalar(select(Upload.filename).where(Upload.id == upload_id))
    if filename is None:
        raise Reject(f"upload {upload_id} does not exist")
    return "Your image was received", f"We received {filename} and are preparing it for the web.\n"


def daily_digest(ctx: TaskContext, date: str, count: int) -> tuple[str, str]:
    plural = "image" if count == 1 else "images"
    return f"Your uploads on {date}", f"You uploaded {count} {plural} on {date}.\n"


def verify_address(ctx: TaskContext, link: Link) -> tuple[str, str]:
    """The sign-up's link, made by the web app (which knows the site's address as the browser reached it)."""
    if not link.startswith(("https://", "http://")) or "/verify/" not in link:
        raise Reject("the sign-up link is not an http(s) link to /verify/")  # never quoted: it holds the token
    return "Confirm your email address", (
        f"Someone, we hope you, signed up with this address. To confirm it and log in, follow this link within "
        f"{verification.LINK_HOURS} hours (it works once):\n\n{link}\n\n"
        "If it was not you, ignore this mail: without the link the account stays unconfirmed and cannot log in.\n")


def sign_up_attempt(ctx: TaskContext) -> tuple[str, str]:
    """To the owner of an account whose address someone signed up with: the sign-up page never says so."""
    return "Someone tried to sign up with your address", (
        "Someone, perhaps you, tried to sign up with this address, which already has an account here. Nothing "
        "was changed: the account keeps its password.\n\nIf it was you, log in with your password. If it was "
        "not, there is nothing you need to do.\n")


TEMPLATES: dict[str, Callable[..., tuple[str, str]]] = {
    "upload_received": upload_received,
    "daily_digest": daily_digest,
    verification.VERIFY_TEMPLATE: verify_address,
    verification.ATTEMPT_TEMPLATE: sign_up_attempt,
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
