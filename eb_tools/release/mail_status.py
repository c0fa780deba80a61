"""What `eb_tools status` says of a stage's mail: whether SES will send it, read from SESv2.

SES sends from the stage's identity only once it is verified (GetEmailIdentity: VerifiedForSendingStatus;
for a domain, SES must first find its DKIM records, DkimAttributes.Status), and while the account is in the
SES sandbox of the stage's region (GetAccount: ProductionAccessEnabled false) only to verified recipients.
Both are a stage's first-day surprises, so status shows them until they are resolved.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eb_tools.errors import aws_message
from eb_tools.release.execute import Echo
from eb_tools.stage.target import StageTarget

INDENT = " " * 9  # under the tiers' columns


def read(where: StageTarget) -> dict[str, Any]:
    """The stage's sender, its identity's verification, the DNS records it still waits for, and the sandbox."""
    mail = where.stage.mail
    report: dict[str, Any] = {"sender": mail.sender, "identity": mail.identity_name, "identity_type": mail.identity}
    sesv2 = where.client("sesv2")
    try:
        report |= _identity(sesv2, mail.identity_name)
        report["sandbox"] = not sesv2.get_account().get("ProductionAccessEnabled", False)
    except (ClientError, BotoCoreError) as error:
        report["error"] = aws_message(error, f"stage {where.name}", where.stage.profile)
    return report


def _identity(sesv2: Any, name: str) -> dict[str, Any]:
    try:
        identity = sesv2.get_email_identity(EmailIdentity=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
        return {"exists": False, "verified": False, "dns_records": []}
    verified = bool(identity.get("VerifiedForSendingStatus"))
    dkim = identity.get("DkimAttributes", {})
    records = [] if verified or "@" in name else [
        {"type": "CNAME", "name": f"{token}._domainkey.{name}", "value": f"{token}.dkim.amazonses.com"}
        for token in dkim.get("Tokens", [])]
    return {"exists": True, "verified": verified, "dkim_status": dkim.get("Status"), "dns_records": records}


def render(report: dict[str, Any], region: str, echo: Echo) -> None:
    """Text lines under the stage's tiers."""
    kind, name = report["identity_type"], report["identity"]
    if "error" in report:
        state = report["error"]
    elif not report["exists"]:
        state = f"{kind} {name} does not exist yet: eb_tools provision creates it"
    elif report["verified"]:
        state = f"{kind} {name} verified"
    elif kind == "domain":
        state = (f"domain {name} not verified: SES has not found its DKIM records ({report['dkim_status']}); "
                 "publish them in its DNS:")
    else:
        state = f"address {name} not verified: follow the link SES mailed to it"
    echo(f"  mail   {report['sender']}: {state}")
    for record in report.get("dns_records", []):
        echo(f"{INDENT}{record['type']} {record['name']} -> {record['value']}")
    if report.get("sandbox"):
        echo(f"{INDENT}SES sandbox: mail goes to verified addresses only; leave it by asking for "
             "production access (aws sesv2 put-account-details --production-access-enabled --mail-type "
             f"TRANSACTIONAL --website-url URL --region {region})")
