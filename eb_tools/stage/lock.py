"""One release at a time per stage: a lock object in Elastic Beanstalk's storage bucket, taken with S3's
conditional write (If-None-Match: *), so two people or CI jobs deploying one stage cannot interleave.

A lock names its holder and lapses at a stated time (a release that died leaves one behind); a later release
takes over a lapsed lock. Released when the release ends, whatever the outcome.
"""
from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.errors import ReleaseError
from eb_tools.stage.target import StageTarget

TAKEN = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def key(where: StageTarget) -> str:
    return f"eb_tools/{where.application}/{where.name}/release.lock"


@contextmanager
def holding(where: StageTarget, what: str, seconds: float) -> Iterator[None]:
    """Hold stage `where`'s lock for `what` (e.g. "deploy v42"); it lapses `seconds` from now."""
    bucket, s3 = where.storage_bucket, where.client("s3")
    now = datetime.now(UTC)
    body = json.dumps({"what": what, "by": f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}",
                       "since": now.isoformat(), "until": (now + timedelta(seconds=seconds)).isoformat()})
    for attempt in range(2):
        try:
            s3.put_object(Bucket=bucket, Key=key(where), Body=body.encode(), IfNoneMatch="*")
            break
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in TAKEN or attempt:
                raise
        holder = _holder(s3, bucket, key(where))
        if holder and datetime.fromisoformat(holder["until"]) > now:
            raise ReleaseError(f"stage {where.name}: another release is running ({holder['what']}, by "
                               f"{holder['by']}, since {holder['since'][11:19]} UTC); wait for it to end (its lock "
                               f"lapses at {holder['until'][:19]} UTC), see eb_tools status {where.name}")
        s3.delete_object(Bucket=bucket, Key=key(where))  # lapsed: its release died
    try:
        yield
    finally:
        s3.delete_object(Bucket=bucket, Key=key(where))


def _holder(s3: Any, bucket: str, name: str) -> dict[str, str] | None:
    try:
        return dict(json.loads(s3.get_object(Bucket=bucket, Key=name)["Body"].read()))
    except ClientError:
        return None  # released meanwhile
    except ValueError:
        return {"what": "unreadable lock", "by": "?", "since": "", "until": "1970-01-01T00:00:00+00:00"}
