"""Waiting for an RDS status, with a progress line each time it changes and at most every PROGRESS_SECONDS:
a snapshot or a restore of a real instance takes minutes to tens of minutes, and a silent command looks hung."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.errors import DataError
from eb_tools.stage.runner import Echo

PROGRESS_SECONDS = 30.0


def status(read: Callable[[], dict[str, Any]], key: str, what: str, echo: Echo, timeout: float,
           interval: float, failed: frozenset[str]) -> dict[str, Any]:
    """Read until `read()[key]` is "available"; a DataError when it reaches a status in `failed`."""
    started = time.monotonic()
    said: list[tuple[str, float]] = [("", started)]

    def ready() -> dict[str, Any]:  # empty (falsy) until available
        described = read()
        now, state = time.monotonic(), str(described.get(key, ""))
        if state != said[-1][0] or now - said[-1][1] >= PROGRESS_SECONDS:
            echo(f"  {what}: {state} ({now - started:.0f} s)")
            said.append((state, now))
        if state in failed:
            raise DataError(f"{what} is {state}")
        return described if state == "available" else {}

    return wait_until(ready, timeout, what, interval)


def gone(read: Callable[[], Any], what: str, echo: Echo, timeout: float, interval: float) -> None:
    """Read until `read()` raises RDS's not-found error (a deleted instance is "deleting" until then)."""
    echo(f"  {what}: deleting")

    def deleted() -> bool:
        try:
            read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "DBInstanceNotFound":
                return True
            raise
        return False

    wait_until(deleted, timeout, f"{what} to be deleted", interval)
