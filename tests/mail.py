"""The mail the emulated SES has sent, and the sign-up link in it: what a user reads and follows.

Read as any client of the local cloud reads moto's state: `<cloud>/moto-api/data.json`. The session's
cloud keeps every test's mail, so a test looks for its own by the address it signed up with.
"""
from __future__ import annotations

import re

import requests

from eb_tools.aws import wait_until

VERIFY_LINK = re.compile(r"https?://\S+/verify/[A-Za-z0-9_-]+")


def mails_to(cloud: str, address: str) -> list[dict]:
    """Every mail the emulated SES sent to `address`, oldest first ({"subject", "body", "source", ...})."""
    # Every service's state in one document: a shared cloud's takes seconds to render under load (5 s ran out).
    data = requests.get(f"{cloud}/moto-api/data.json", timeout=30).json()
    return [mail for mail in data.get("ses", {}).get("Message", [])
            if address in mail.get("destinations", {}).get("ToAddresses", [])]


def links_mailed_to(cloud: str, address: str) -> list[str]:
    """The sign-up links in the mail sent to `address`, oldest first."""
    return [match.group(0) for mail in mails_to(cloud, address)
            if (match := VERIFY_LINK.search(mail.get("body", "")))]


def verification_link(cloud: str, address: str, timeout: float = 60) -> str:
    """The link of the newest sign-up mail to `address`, once the worker has sent one."""
    links = wait_until(lambda: links_mailed_to(cloud, address), timeout, f"the sign-up mail to {address}")
    return links[-1]
