"""The local cloud's SES behaves as SES does: an identity is verified by its owner (LocalCloud.verify_email_identity
stands for following SES's link or publishing the DKIM records), a new account is in the sandbox, where mail goes
only to verified identities, and SESv2 GetAccount says which; every refusal is SES's own MessageRejected."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eb_tools.cloud.server import LocalCloud
from eb_tools.errors import CloudError
from tests.cloud_clients import local_client

REGION = "us-east-1"
FAILED = "Email address is not verified. The following identities failed the check in region US-EAST-1: "


@pytest.fixture(scope="module")
def sandboxed() -> Iterator[LocalCloud]:
    """A cloud whose account is new: in the SES sandbox."""
    cloud = LocalCloud().start()
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def production() -> Iterator[LocalCloud]:
    """A cloud whose account left the sandbox (moto's backends, identities included, are the process's)."""
    cloud = LocalCloud(ses_production_access=True).start()
    yield cloud
    cloud.stop()


def ses(cloud: LocalCloud, service: str = "ses") -> Any:
    return local_client(service, cloud.url, REGION)


def address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"


def verified(cloud: LocalCloud, identity: str) -> str:
    """`identity` created through the API (SES then mails it a link) and verified (its owner followed it)."""
    if "@" in identity:
        ses(cloud).verify_email_identity(EmailAddress=identity)
    else:
        ses(cloud).verify_domain_identity(Domain=identity)
    cloud.verify_email_identity(REGION, identity)
    return identity


def send(cloud: LocalCloud, sender: str, *to: str) -> Any:
    return ses(cloud).send_email(Source=sender, Destination={"ToAddresses": list(to)}, Message={
        "Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "hello"}}})


def send_raw(cloud: LocalCloud, sender: str, *to: str) -> Any:
    raw = f"From: {sender}\nTo: {', '.join(to)}\nSubject: hello\n\nhello\n"
    return ses(cloud).send_raw_email(RawMessage={"Data": raw})


def rejection(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "MessageRejected", error
    return str(error["Message"])


def test_a_sender_sends_only_once_its_owner_verified_it(sandboxed):
    sender, recipient = address("sender"), verified(sandboxed, address("friend"))
    ses(sandboxed).verify_email_identity(EmailAddress=sender)  # SES mails the address a link: pending until followed
    assert ses(sandboxed, "sesv2").get_email_identity(EmailIdentity=sender)["VerifiedForSendingStatus"] is False
    assert rejection(lambda: send(sandboxed, sender, recipient)) == FAILED + sender
    assert rejection(lambda: send_raw(sandboxed, sender, recipient)) == FAILED + sender

    sandboxed.verify_email_identity(REGION, sender)
    identity = ses(sandboxed, "sesv2").get_email_identity(EmailIdentity=sender)
    assert (identity["VerifiedForSendingStatus"], identity["VerificationStatus"]) == (True, "SUCCESS")
    assert ses(sandboxed).get_identity_verification_attributes(Identities=[sender])[
        "VerificationAttributes"][sender]["VerificationStatus"] == "Success"
    assert send(sandboxed, sender, recipient)["MessageId"] and send_raw(sandboxed, sender, recipient)["MessageId"]


def test_the_sandbox_refuses_every_recipient_that_is_not_verified(sandboxed):
    sender, friend = verified(sandboxed, address("sender")), verified(sandboxed, address("friend"))
    strangers = [address("stranger"), address("other")]
    assert rejection(lambda: send(sandboxed, sender, friend, *strangers)) == FAILED + ", ".join(strangers)
    assert rejection(lambda: send_raw(sandboxed, sender, friend, *strangers)) == FAILED + ", ".join(strangers)
    unverified = address("unverified")
    assert rejection(lambda: send(sandboxed, unverified, strangers[0])) == FAILED + f"{unverified}, {strangers[0]}"

    team = verified(sandboxed, f"team-{uuid.uuid4().hex[:8]}.example.com")  # a verified domain covers its addresses
    assert send(sandboxed, sender, f"anyone@{team}", "success@simulator.amazonses.com")["MessageId"]
    assert send(sandboxed, f"no-reply@{team}", friend)["MessageId"]  # and sends from any of them


def test_out_of_the_sandbox_mail_reaches_anyone(production):
    sender, stranger = verified(production, address("sender")), address("stranger")
    assert send(production, sender, stranger)["MessageId"] and send_raw(production, sender, stranger)["MessageId"]
    unverified = address("unverified")
    assert rejection(lambda: send(production, unverified, stranger)) == FAILED + unverified


def test_get_account_says_whether_the_account_is_in_the_sandbox(sandboxed, production):
    account = ses(sandboxed, "sesv2").get_account()
    assert (account["ProductionAccessEnabled"], account["SendingEnabled"]) == (False, True)
    assert account["SendQuota"]["Max24HourSend"] == 200  # the sandbox's quota
    assert ses(production, "sesv2").get_account()["ProductionAccessEnabled"] is True
    sandboxed.ses_production_access = True  # AWS granted the request while the cloud runs
    try:
        assert ses(sandboxed, "sesv2").get_account()["ProductionAccessEnabled"] is True
        assert send(sandboxed, verified(sandboxed, address("sender")), address("stranger"))["MessageId"]
    finally:
        sandboxed.ses_production_access = False


def test_verifying_a_domain_identity_finds_its_dkim_records(sandboxed):
    domain = f"dkim-{uuid.uuid4().hex[:8]}.example.com"
    template = {"Resources": {"Domain": {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": domain}}}}
    ses(sandboxed, "cloudformation").create_stack(StackName=f"mail-{uuid.uuid4().hex[:8]}",
                                                  TemplateBody=json.dumps(template))
    sesv2 = ses(sandboxed, "sesv2")
    assert sesv2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["Status"] == "PENDING"
    sandboxed.verify_email_identity(REGION, domain)
    identity = sesv2.get_email_identity(EmailIdentity=domain)
    assert (identity["VerifiedForSendingStatus"], identity["DkimAttributes"]["Status"]) == (True, "SUCCESS")


def test_verifying_an_identity_that_does_not_exist_is_one_line(sandboxed):
    with pytest.raises(CloudError) as caught:
        sandboxed.verify_email_identity(REGION, "nobody@example.com")
    assert str(caught.value) == ("SES in us-east-1 has no identity nobody@example.com to verify: create it first "
                                 "(a stack's AWS::SES::EmailIdentity, or SES's CreateEmailIdentity)")
