"""The idempotency ledger: at most one worker runs a key's side effect at a time, and once.

claim() inserts the key (the primary key decides races: a concurrent insert waits
for the first and then fails) or, for an existing row, takes it over only when
the last attempt failed or its lease expired (a crashed worker).

A task whose downstream call cannot be made idempotent (SES has no idempotency
token) calls sending() just before it: the row becomes `sending`, committed, so a
later delivery that finds `sending` with an expired lease knows a process died
inside the call and cannot know whether it went out. What happens then is the
task's choice (registry.OnCrash): RESEND (at least once) takes the key over and
runs again; GIVE_UP (at most once) ends the key as `gave_up`, flagged with the
reason. Either way the row's crashes_in_call counts it; a crash outside the call
(`in_progress`) is a plain takeover and is not counted.

Every ledger write but a takeover is one statement, so on MariaDB the ledger runs
them in autocommit on a pool of its own, compiled once, with no reset on return and
no pre-ping: one round trip per statement instead of four (pre-ping, statement,
COMMIT, ROLLBACK), which were most of a no-op task's cost
(benchmarks/worker_throughput.py). Instead of pinging, a statement that finds its
connection dead (a failover, a restarted server) runs once more on a new one; each
statement may safely run twice: the claim's insert then finds the key under its own
owner (a fresh id per delivery) and runs, the updates match the same owner again.
A takeover needs its row lock and still runs in a transaction on the app's writer;
on SQLite every write does.
"""
from __future__ import annotations

import enum
import hashlib
import json
import logging
from contextlib import suppress
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase

from core.db import Database
from core.models import TaskLedger, utcnow

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 4000
MAX_KEY_CHARS = 191  # the ledger's primary key column
MAX_TASK_CHARS = 100  # its task column: a name longer than any task's, kept cut for the record
LEDGER = cast(Table, TaskLedger.__table__)  # Core statements: no ORM unit of work per task


class Claim(enum.Enum):
    RUN = "run"  # this delivery owns the key now: run the task
    DONE = "done"  # ran before: answer 200, do nothing
    REJECTED = "rejected"  # can never succeed: answer 200, do nothing
    GAVE_UP = "gave_up"  # an at-most-once task died inside its call (now or before): answer 200, do nothing
    BUSY = "busy"  # another delivery holds a live lease: answer non-200, sqsd retries later


class OnCrash(enum.Enum):
    """What a delivery does with a key left `sending` by a process that died inside the call."""

    RESEND = "resend"  # at least once: call again (the user may get it twice)
    GIVE_UP = "give_up"  # at most once: end the key as gave_up, flagged with the reason


class LeaseLost(Exception):
    """The key was taken over (this delivery's lease expired): the call must not be made."""


FINAL = {TaskLedger.DONE: Claim.DONE, TaskLedger.REJECTED: Claim.REJECTED, TaskLedger.GAVE_UP: Claim.GAVE_UP}
DIED_INSIDE = "a process died inside the downstream call: unknown whether it went out; not sent again (at most once)"


ROW = ("key", "task", "state", "attempts", "owner", "lease_until", "result", "created_at", "updated_at",
       "expires_at", "crashes_in_call")
STATEMENTS: dict[str, UpdateBase] = {
    "insert": insert(LEDGER),
    "sending": update(LEDGER).where(
        LEDGER.c.key == bindparam("b_key"), LEDGER.c.owner == bindparam("b_owner"),
        # SENDING: this same statement, run again (no IN: a compiled-once statement has no expanding list)
        or_(LEDGER.c.state == TaskLedger.IN_PROGRESS, LEDGER.c.state == TaskLedger.SENDING),
    ).values(state=TaskLedger.SENDING, lease_until=bindparam("b_lease_until"), updated_at=bindparam("b_now")),
    "finish": update(LEDGER).where(
        LEDGER.c.key == bindparam("b_key"), LEDGER.c.owner == bindparam("b_owner"),
    ).values(state=bindparam("b_state"), result=bindparam("b_result"), lease_until=None,
             updated_at=bindparam("b_now")),
}


@lru_cache(maxsize=16)
def _compiled(name: str, dialect: Dialect) -> Compiled:
    return STATEMENTS[name].compile(dialect=dialect, column_keys=list(ROW) if name == "insert" else None)


def _write(database: Database, name: str, params: dict[str, Any]) -> int:
    """Run one of STATEMENTS as its own transaction; return the rows it changed. IntegrityError (SQLAlchemy's)
    when an insert finds its key."""
    if database.writer.dialect.name == "sqlite":
        with database.writer.begin() as conn:
            return conn.execute(STATEMENTS[name], params).rowcount
    engine = database.autocommit_writer
    dbapi = engine.dialect.loaded_dbapi
    compiled = _compiled(name, engine.dialect)
    values = cast(dict[str, Any], compiled.construct_params(params))
    for attempt in (1, 2):
        raw = engine.raw_connection()
        try:
            connection: Any = raw.dbapi_connection  # PyMySQL's
            # Rendered here with the driver's own escape(), as its execute() would, but a datetime by isoformat:
            # PyMySQL's escape_datetime and its per-argument dispatch were 20 us of a task's 170 in the ledger.
            sql = compiled.string % {bind: f"'{value.isoformat(' ')}'" if type(value) is datetime
                                     else connection.escape(value) for bind, value in values.items()}
            cursor = raw.cursor()
            try:
                cursor.execute(sql)
                return int(cursor.rowcount)
            finally:
                cursor.close()
        except dbapi.IntegrityError as exc:
            raise IntegrityError(compiled.string, params, exc) from exc
        except dbapi.Error as exc:
            raw.invalidate()  # a broken connection must not go back to the pool
            if attempt == 2 or not engine.dialect.is_disconnect(exc, raw.dbapi_connection, None):
                raise
            log.warning("ledger: %s found its connection gone (%s); once more on a new one", name, exc)
        finally:
            raw.close()
    raise AssertionError("unreachable: the second attempt returns or raises")


def bounded_key(key: str) -> str:
    """A key the column holds: a longer one (built from headers or the URL) becomes its SHA-256."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return f"sha256:{hashlib.sha256(key.encode('utf-8', 'backslashreplace')).hexdigest()}"


def claim(database: Database, key: str, task: str, owner: str, lease_seconds: int,
          retention_days: int, on_crash: OnCrash = OnCrash.RESEND) -> Claim:
    now = utcnow()
    task = task[:MAX_TASK_CHARS]
    lease_until = now + timedelta(seconds=lease_seconds)
    try:
        _write(database, "insert", {
            "key": key, "task": task, "state": TaskLedger.IN_PROGRESS, "attempts": 1, "owner": owner,
            "lease_until": lease_until, "result": None, "created_at": now, "updated_at": now,
            "expires_at": now + timedelta(days=retention_days), "crashes_in_call": 0,
        })
        return Claim.RUN
    except IntegrityError:
        pass  # the key exists: decide on the current row, under a row lock
    with database.writer.begin() as conn:
        row = conn.execute(
            select(LEDGER.c.state, LEDGER.c.owner, LEDGER.c.lease_until).where(LEDGER.c.key == key).with_for_update()
        ).one_or_none()
        if row is None:  # expired and deleted between the two statements
            return Claim.BUSY
        if row.state in FINAL:
            return FINAL[row.state]
        if row.owner == owner and row.state == TaskLedger.IN_PROGRESS:  # our own insert, run once more
            return Claim.RUN
        live = row.lease_until is not None and row.lease_until > now
        if row.state in (TaskLedger.IN_PROGRESS, TaskLedger.SENDING) and live:
            return Claim.BUSY
        crashed_inside = row.state == TaskLedger.SENDING
        changes: dict[str, Any] = {"updated_at": now}
        if crashed_inside:
            changes["crashes_in_call"] = LEDGER.c.crashes_in_call + 1
        if crashed_inside and on_crash is OnCrash.GIVE_UP:
            log.error("flagging %s as gave_up: %s (owner %s)", key, DIED_INSIDE, row.owner)
            conn.execute(update(LEDGER).where(LEDGER.c.key == key).values(
                state=TaskLedger.GAVE_UP, owner=None, lease_until=None, result=DIED_INSIDE, **changes))
            return Claim.GAVE_UP
        if crashed_inside:
            log.warning("resending %s: %s died inside the downstream call (at least once)", key, row.owner)
        elif row.state == TaskLedger.IN_PROGRESS:
            log.warning("taking over %s from %s: its lease expired", key, row.owner)
        conn.execute(update(LEDGER).where(LEDGER.c.key == key).values(
            state=TaskLedger.IN_PROGRESS, owner=owner, lease_until=lease_until,
            attempts=LEDGER.c.attempts + 1, **changes))
        return Claim.RUN


def sending(database: Database, key: str, owner: str, lease_seconds: int) -> None:
    """Record, committed, that this owner is about to make a call it cannot make idempotent (and renew the
    lease for it); LeaseLost if the key is no longer this owner's, so the call is not made."""
    now = utcnow()
    updated = _write(database, "sending", {"b_key": key, "b_owner": owner, "b_now": now,
                                           "b_lease_until": now + timedelta(seconds=lease_seconds)})
    if not updated:
        raise LeaseLost(f"{key} was taken over by another delivery before its call")


def finish(database: Database, key: str, owner: str, state: str, result: Any) -> bool:
    """Record the outcome if this owner still holds the key; False if it was taken over."""
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    updated = _write(database, "finish", {"b_key": key, "b_owner": owner, "b_state": state,
                                          "b_result": text[:MAX_RESULT_CHARS], "b_now": utcnow()})
    if not updated:
        log.warning("%s finished as %s, but another worker took it over meanwhile", key, state)
    return bool(updated)


def reject(database: Database, key: str, task: str, reason: str, retention_days: int) -> None:
    """Record a message that can never run (no claim was possible: e.g. not even JSON)."""
    now = utcnow()
    with suppress(IntegrityError):  # the same bad message again: already recorded
        _write(database, "insert", {
            "key": key, "task": task[:MAX_TASK_CHARS], "state": TaskLedger.REJECTED, "attempts": 1, "owner": None,
            "lease_until": None, "result": reason[:MAX_RESULT_CHARS], "created_at": now, "updated_at": now,
            "expires_at": now + timedelta(days=retention_days), "crashes_in_call": 0,
        })
