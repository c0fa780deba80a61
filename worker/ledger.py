"""The idempotency ledger: at most one worker runs a key's side effect at a time, and once.

claim() inserts the key (the primary key decides races: a concurrent insert waits
for the first and then fails) or, for an existing row, takes it over only when
the last attempt failed or its lease expired (a crashed worker).
"""
from __future__ import annotations

import enum
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.models import TaskLedger, utcnow

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 4000
MAX_KEY_CHARS = 191  # the ledger's primary key column
MAX_TASK_CHARS = 100  # its task column: a name longer than any task's, kept cut for the record


class Claim(enum.Enum):
    RUN = "run"  # this delivery owns the key now: run the task
    DONE = "done"  # ran before: answer 200, do nothing
    REJECTED = "rejected"  # can never succeed: answer 200, do nothing
    BUSY = "busy"  # another delivery holds a live lease: answer non-200, sqsd retries later


def bounded_key(key: str) -> str:
    """A key the column holds: a longer one (built from headers or the URL) becomes its SHA-256."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return f"sha256:{hashlib.sha256(key.encode('utf-8', 'backslashreplace')).hexdigest()}"


def claim(database: Database, key: str, task: str, owner: str, lease_seconds: int,
          retention_days: int) -> Claim:
    now = utcnow()
    task = task[:MAX_TASK_CHARS]
    lease_until = now + timedelta(seconds=lease_seconds)
    try:
        with database.write() as session:
            session.add(TaskLedger(
                key=key, task=task, state=TaskLedger.IN_PROGRESS, attempts=1, owner=owner,
                lease_until=lease_until, created_at=now, updated_at=now,
                expires_at=now + timedelta(days=retention_days),
            ))
        return Claim.RUN
    except IntegrityError:
        pass  # the key exists: decide on the current row, under a row lock
    with database.write() as session:
        row = session.get(TaskLedger, key, with_for_update=True)
        if row is None:  # expired and deleted between the two statements
            return Claim.BUSY
        if row.state == TaskLedger.DONE:
            return Claim.DONE
        if row.state == TaskLedger.REJECTED:
            return Claim.REJECTED
        if row.state == TaskLedger.IN_PROGRESS and row.lease_until and row.lease_until > now:
            return Claim.BUSY
        if row.state == TaskLedger.IN_PROGRESS:
            log.warning("taking over %s from %s: its lease expired", key, row.owner)
        row.state, row.owner, row.lease_until = TaskLedger.IN_PROGRESS, owner, lease_until
        row.attempts += 1
        row.updated_at = now
        return Claim.RUN


def finish(database: Database, key: str, owner: str, state: str, result: Any) -> bool:
    """Record the outcome if this owner still holds the key; False if it was taken over."""
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    with database.write() as session:
        # An UPDATE's result is a CursorResult; Session.execute is typed for any statement.
        updated = cast(CursorResult, session.execute(
            update(TaskLedger)
            .where(TaskLedger.key == key, TaskLedger.owner == owner)
            .values(state=state, result=text[:MAX_RESULT_CHARS], lease_until=None, updated_at=utcnow())
        )).rowcount
    if not updated:
        log.warning("%s finished as %s, but another worker took it over meanwhile", key, state)
    return bool(updated)


def reject(database: Database, key: str, task: str, reason: str, retention_days: int) -> None:
    """Record a message that can never run (no claim was possible: e.g. not even JSON)."""
    now = utcnow()
    task = task[:MAX_TASK_CHARS]
    try:
        with database.write() as session:
            session.add(TaskLedger(
                key=key, task=task, state=TaskLedger.REJECTED, attempts=1, result=reason[:MAX_RESULT_CHARS],
                created_at=now, updated_at=now, expires_at=now + timedelta(days=retention_days),
            ))
    except IntegrityError:
        pass  # the same bad message again: already recorded
