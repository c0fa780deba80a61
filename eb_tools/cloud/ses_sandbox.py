"""SES's identities and sandbox as SES has them, where moto differs.

moto takes an identity as verified the moment it exists, and has no sandbox. In SES an identity starts
pending: an address is verified when its owner follows the link SES mails it, a domain when SES finds
its DKIM records in DNS. Neither can happen on this machine, so an identity here stays pending until
LocalCloud.verify_email_identity says it happened (`verify`). A new account is in the sandbox in every
region: mail goes only to verified identities (or the mailbox simulator) until AWS grants production
access, which each cloud declares (SesAccount, applied to every request it serves, as the EB
emulation's settings are). A send from an unverified sender, or in the sandbox to an unverified
recipient, is refused with SES's MessageRejected naming every identity that failed (`_refused`);
SendEmail and SendRawEmail are checked, and SESv2's SendEmail, which moto runs through them.
SESv2 GetAccount, which moto lacks, answers the sandbox setting (ProductionAccessEnabled).
"""
from __future__ import annotations

import email
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from typing import Any

from eb_tools.cloud.moto_internals import (
    BACKENDS,
    MessageRejectedError,
    SESBackend,
    SESV2Response,
    once,
    replace,
    ses_backends,
    sesv2_urls,
)
from eb_tools.cloud.per_request import PerRequest
from eb_tools.errors import CloudError

SIMULATOR = "simulator.amazonses.com"  # SES's mailbox simulator: reachable from the sandbox too
# Sending quotas SES gives a sandboxed account (200 a day, 1 a second) and, by default, one out of it.
SANDBOX_QUOTA = {"Max24HourSend": 200.0, "MaxSendRate": 1.0}
PRODUCTION_QUOTA = {"Max24HourSend": 50000.0, "MaxSendRate": 14.0}


@dataclass
class SesAccount:
    """One cloud's SES account setting; a new AWS account is in the sandbox."""

    production_access: bool = False


# The setting of the cloud serving the current request; a new account's outside one (per_request.py).
_ACCOUNT: PerRequest[SesAccount] = PerRequest("ses_account", SesAccount)
current = _ACCOUNT.current
serving_with = _ACCOUNT.serving


def register() -> None:
    once("ses_sandbox", _install)


def _install() -> None:
    replace(SESBackend, "create_email_identity_v2", _pending(SESBackend.create_email_identity_v2))
    replace(SESBackend, "send_email", _checked_send_email(SESBackend.send_email))
    replace(SESBackend, "send_raw_email", _checked_send_raw_email(SESBackend.send_raw_email))
    replace(SESBackend, "get_identity_verification_attributes",
            _verification_attributes(SESBackend.get_identity_verification_attributes))
    SESV2Response.get_account = _get_account  # type: ignore[attr-defined]  # moto has no GetAccount, nor a route
    sesv2_urls.url_paths["{0}/v2/email/account$"] = SESV2Response.dispatch


def verify(account_id: str, region: str, name: str) -> None:
    """What the owner following SES's link (an address) or SES finding the DKIM records (a domain) does."""
    with BACKENDS:
        identity = ses_backends[account_id][region].email_identities.get(name)
        if identity is None:
            raise CloudError(f"SES in {region} has no identity {name} to verify: create it first (a stack's "
                             "AWS::SES::EmailIdentity, or SES's CreateEmailIdentity)")
        identity.verified_for_sending_status = True
        identity.verification_status = "SUCCESS"
        if identity.dkim_attributes.get("Status") == "PENDING":
            identity.dkim_attributes["Status"] = "SUCCESS"


def start_easy_dkim(identity: Any, tokens: list[str]) -> None:
    """A domain identity signing with SES's keys, waiting for the CNAME records of `tokens` in its DNS."""
    identity.dkim_attributes = {"SigningEnabled": True, "Status": "PENDING", "Tokens": tokens,
                                "SigningAttributesOrigin": "AWS_SES", "CurrentSigningKeyLength": "RSA_2048_BIT",
                                "NextSigningKeyLength": "RSA_2048_BIT"}


def _pending(create: Callable[..., Any]) -> Callable[..., Any]:
    """Every way of creating an identity (VerifyEmailIdentity, VerifyDomainIdentity, CreateEmailIdentity, a
    stack) leaves it pending, as SES does."""

    def create_email_identity_v2(backend: Any, *args: Any, **kwargs: Any) -> Any:
        identity = create(backend, *args, **kwargs)
        identity.verified_for_sending_status = False
        identity.verification_status = "PENDING"
        return identity

    return create_email_identity_v2


def _verified(backend: Any, address: str) -> bool:
    """An address is covered by its own verified identity, or by its domain's."""
    found = (backend.email_identities.get(name) for name in (address, _domain(address)))
    return any(identity is not None and identity.verified_for_sending_status for identity in found)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def _refused(backend: Any, source: str, recipients: Iterable[str]) -> None:
    """SES's MessageRejected for an unverified sender and, in the sandbox, every unverified recipient."""
    sender = parseaddr(source)[1]
    failed = [sender] if sender and not _verified(backend, sender) else []
    if not current().production_access:
        addresses = (parseaddr(recipient)[1] for recipient in recipients)
        failed += [address for address in addresses if address and not _verified(backend, address)
                   and _domain(address) != SIMULATOR]
    if failed:
        failed = list(dict.fromkeys(failed))
        raise MessageRejectedError(f"Email address is not verified. The following identities failed the check in "
                                   f"region {backend.region_name.upper()}: {', '.join(failed)}")


def _checked_send_email(send: Callable[..., Any]) -> Callable[..., Any]:
    def send_email(backend: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]]) -> Any:
        _refused(backend, source, [address for addresses in destinations.values() for address in addresses])
        return send(backend, source, subject, body, destinations)

    return send_email


def _checked_send_raw_email(send: Callable[..., Any]) -> Callable[..., Any]:
    def send_raw_email(backend: Any, source: str | None, destinations: list[str], raw_data: str) -> Any:
        message = email.message_from_string(raw_data)
        headers = [str(message[name]) for name in ("To", "Cc", "Bcc") if message[name]]
        recipients = [*destinations, *(address for _, address in getaddresses(headers) if address)]
        _refused(backend, source or str(message["From"] or ""), recipients)
        return send(backend, source, destinations, raw_data)

    return send_raw_email


def _verification_attributes(read: Callable[..., Any]) -> Callable[..., Any]:
    """SES v1's view of the same state (moto says Success for every identity)."""

    def get_identity_verification_attributes(backend: Any, identities: list[str] | None = None) -> Any:
        found: dict[str, dict[str, str]] = read(backend, identities)
        for name, attributes in found.items():
            verified = backend.email_identities[name].verified_for_sending_status
            attributes["VerificationStatus"] = "Success" if verified else "Pending"
        return found

    return get_identity_verification_attributes


def _get_account(response: Any) -> str:
    """SESv2 GetAccount: whether the account left the sandbox, and the quota that goes with it."""
    production = current().production_access
    sent = ses_backends[response.current_account][response.region].sent_message_count
    return json.dumps({
        "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY", "ProductionAccessEnabled": production,
        "SendingEnabled": True, "SendQuota": {**(PRODUCTION_QUOTA if production else SANDBOX_QUOTA),
                                              "SentLast24Hours": float(sent)}})
