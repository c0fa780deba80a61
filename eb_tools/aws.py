"""How eb_tools reaches AWS: one way to make a client, one way to wait for something.

The endpoint follows boto3's own configuration (AWS_ENDPOINT_URL, profiles,
AWS_DEFAULT_REGION), so a command works unchanged against AWS and against the
local cloud; code that runs the local cloud itself passes its URL explicitly.
Every wait in eb_tools and its tests goes through `wait_until`, so each one has a
deadline and says what it was waiting for when it gives up; a long one says what it
waits for at least every QUIET_SECONDS meanwhile (`Progress`).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from eb_tools.errors import EbToolsError, WaitTimeout

T = TypeVar("T")

# The local cloud accepts any credentials; its S3 POST-policy check needs this pair.
LOCAL_ACCESS_KEY = "testing"
LOCAL_SECRET_KEY = "testing"
LOCAL_REGION = "us-east-1"
# Adaptive retries ride out throttling of describe calls during long waits.
CLIENT_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"})
# Between describe calls while waiting: AWS takes minutes; a local cloud answers in moments.
POLL_SECONDS = 2.0
POLL_ENV = "EB_TOOLS_POLL_SECONDS"


QUIET_SECONDS = 15.0  # a long wait says what it waits for at least this often


class Progress:
    """A long wait's progress: when QUIET_SECONDS pass with no news (no event printed), one line saying how
    long it has waited, for what, and where that stands, so no wait is silent for longer."""

    def __init__(self, echo: Callable[[str], None], what: str) -> None:
        self.echo, self.what = echo, what
        self.began = self.last = time.monotonic()

    def news(self, count: int) -> None:
        """`count` lines of news were printed (none: nothing changes)."""
        if count:
            self.last = time.monotonic()

    def quiet(self, state: Callable[[], str]) -> None:
        """After QUIET_SECONDS without news or a progress line: a progress line, with `state()`."""
        now = time.monotonic()
        if now - self.last >= QUIET_SECONDS:
            self.last = now
            self.echo(f"  ... {now - self.began:.0f}s waiting for {self.what}: {state()}")


def poll_seconds() -> float:
    """POLL_SECONDS, or the environment's EB_TOOLS_POLL_SECONDS (0.05 to 60)."""
    given = os.environ.get(POLL_ENV)
    if not given:
        return POLL_SECONDS
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1
    if not 0.05 <= seconds <= 60:
        raise EbToolsError(f"{POLL_ENV}={given}: give seconds between 0.05 and 60, or unset it for {POLL_SECONDS:g}")
    return seconds


def session(profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    """A session from boto3's configuration chain: profile, environment, instance role."""
    return boto3.session.Session(profile_name=profile, region_name=region)


def local_session(region: str = LOCAL_REGION, access_key: str = LOCAL_ACCESS_KEY,
                  secret_key: str = LOCAL_SECRET_KEY) -> boto3.session.Session:
    """A session with the local cloud's credentials (tests, `eb_tools local`, the cloud's own calls)."""
    return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region)


def client(boto_session: boto3.session.Session, service: str, endpoint_url: str | None = None,
           config: Config | None = None) -> Any:
    """A client of `service`; `endpoint_url` None leaves the choice to boto3 (AWS_ENDPOINT_URL); `config`
    adds to (or overrides) the adaptive retries every client gets."""
    return boto_session.client(service, endpoint_url=endpoint_url,
                               config=CLIENT_CONFIG.merge(config) if config else CLIENT_CONFIG)


@dataclass(frozen=True)
class Target:
    """Where a stage lives: a boto3 session (profile, region) and an endpoint (None: boto3's choice)."""

    session: boto3.session.Session
    endpoint_url: str | None = None
    poll_seconds: float = POLL_SECONDS  # between describe calls while waiting

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        return client(self.session, service, self.endpoint_url)


def account_problem(target: Target, account: str | None, key: str) -> str | None:
    """Why the credentials in use may not act on something that belongs to `account` (`key`, "file: key
    path", declares it); None when they may, or when no account is declared."""
    if account is None:
        return None
    actual = target.client("sts").get_caller_identity()["Account"]
    if actual == account:
        return None
    return (f"{key}: {account}: the credentials in use belong to account {actual}; use the "
            "stage's profile or credentials of that account")


__all__ = ["WaitTimeout"]  # raised by wait_until, defined with the other errors


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call `condition` until it returns something truthy and return that; past `timeout` seconds
    raise WaitTimeout naming `what`. A condition may raise to end the wait early."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not within {timeout:g}s")
        time.sleep(interval)
