"""The stage's SES identity: the sender the stage file names, or its domain with Easy DKIM.

SES sends only from a verified identity. An address identity is verified when its owner follows the
link SES mails it; a domain identity when SES finds three CNAME records in the domain's DNS, whose
names and values CloudFormation gives (DkimDNSTokenName1..3, DkimDNSTokenValue1..3): the stage stack
outputs them and provision prints them. The worker may send from this identity alone (roles.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from troposphere import GetAtt, Sub, Template
from troposphere.ses import EmailIdentity

from eb_tools.provision.common import arn
from eb_tools.stage_file import Mail

DKIM_TOKENS = 3


def build(template: Template, mail: Mail) -> dict[str, GetAtt]:
    """The identity, and the DKIM records' outputs for a domain identity."""
    identity = template.add_resource(EmailIdentity("MailIdentity", EmailIdentity=mail.identity_name))
    if mail.identity != "domain":
        return {}
    return {f"MailDkim{kind}{n}": GetAtt(identity, f"DkimDNSToken{kind}{n}")
            for kind in ("Name", "Value") for n in range(1, DKIM_TOKENS + 1)}


def identity_arn(mail: Mail) -> Sub:
    """The identity's ARN in the stack's partition, region and account, which SendEmail is authorized on."""
    return arn("ses", f"identity/{mail.identity_name}")


def dns_records(outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) of each DKIM CNAME record the stage stack's outputs name: none for an address identity."""
    return [(str(outputs[f"MailDkimName{n}"]), str(outputs[f"MailDkimValue{n}"]))
            for n in range(1, DKIM_TOKENS + 1) if f"MailDkimName{n}" in outputs]


def render(mail: Mail, outputs: dict[str, Any], echo: Callable[[str], None]) -> None:
    """The DKIM records a domain identity waits for, once the stack gave them."""
    records = dns_records(outputs)
    if records:
        echo(f"mail: publish these DNS records of {mail.identity_name}; SES sends from it once it finds them "
             "(eb_tools status says when):")
        for name, value in records:
            echo(f"  CNAME {name} -> {value}")
