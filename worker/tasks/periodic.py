"""Periodic tasks, fired by cron.yaml through sqsd on one worker instance (the leader)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select

from core import redis_client, storage
from core.models import TaskLedger, Upload, User, utcnow
from core.queue import Envelope, enqueue
from core.uploads import completion_tasks, record_completion
from worker.registry import TaskContext, periodic

BATCH = 500
MAX_BATCHES = 100  # bounded work per run; the next run continues
SESSION_PREFIX = "session:"
RECONCILE_GRACE = timedelta(minutes=10)


@periodic("expire-sessions")
def expire_sessions(ctx: TaskContext) -> dict[str, int]:
    """Give any session key without a TTL one, so no session outlives SESSION_LIFETIME."""
    if not ctx.settings.redis_url:
        return {"scanned": 0, "fixed": 0}
    store = redis_client.connect(ctx.settings, socket_timeout=5)
    scanned = fixed = 0
    for key in store.scan_iter(match=f"{SESSION_PREFIX}*", count=1000):
        scanned += 1
        if store.ttl(key) == -1:
            store.expire(key, ctx.settings.session_lifetime)
            fixed += 1
    return {"scanned": scanned, "fixed": fixed}


@periodic("expire-ledger")
def expire_ledger(ctx: TaskContext) -> dict[str, int]:
    """Forget idempotency keys older than LEDGER_RETENTION_DAYS (longer than SQS keeps messages)."""
    deleted = 0
    for _ in range(MAX_BATCHES):
        with ctx.database.write() as session:
            keys = session.scalars(
                select(TaskLedger.key)
                .where(TaskLedger.expires_at < utcnow(),
                       TaskLedger.state.not_in((TaskLedger.IN_PROGRESS, TaskLedger.SENDING)))
                .limit(BATCH)
            ).all()
            if keys:
                session.execute(delete(TaskLedger).where(TaskLedger.key.in_(keys)))
        deleted += len(keys)
        if len(keys) < BATCH:
            break
    return {"deleted": deleted}


@periodic("reconcile-uploads")
def reconcile_uploads(ctx: TaskContext) -> dict[str, int]:
    """Presigned uploads never completed: finish those whose file arrived, fail the others."""
    settings = ctx.settings
    cutoff = utcnow() - timedelta(seconds=settings.upload_url_expires) - RECONCILE_GRACE
    with ctx.database.read() as session:
        stale = session.execute(
            select(Upload.id, Upload.s3_key, User.email)
            .join(User, User.id == Upload.user_id)
            .where(Upload.state == Upload.PENDING, Upload.created_at < cutoff)
            .limit(BATCH)
        ).all()
    completed = failed = 0
    for upload_id, key, email in stale:
        stored = storage.head(settings, key)
        with ctx.database.write() as session:
            upload = session.get(Upload, upload_id, with_for_update=True)
            if upload is None or upload.state != Upload.PENDING:
                continue  # completed by the browser meanwhile
            if stored is None:
                upload.state, upload.failure_reason = Upload.FAILED, "never uploaded"
                failed += 1
                continue
            enqueue(settings, *completion_tasks(upload_id, email))
            record_completion(upload, stored)
            completed += 1
    return {"completed": completed, "failed": failed}


@periodic("daily-digest")
def daily_digest(ctx: TaskContext) -> dict[str, int]:
    """One email per user who uploaded the day before the scheduled time (UTC)."""
    day = _scheduled_day(ctx) - timedelta(days=1)
    start = datetime(day.year, day.month, day.day)
    with ctx.database.read() as session:
        rows = session.execute(
            select(User.id, User.email, func.count(Upload.id))
            .join(Upload, Upload.user_id == User.id)
            .where(Upload.created_at >= start, Upload.created_at < start + timedelta(days=1),
                   Upload.state.in_((Upload.UPLOADED, Upload.READY)))
            .group_by(User.id, User.email)
        ).all()
    envelopes = [
        Envelope("email.send", {"to": email, "template": "daily_digest", "date": day.isoformat(), "count": count},
                 idempotency_key=f"digest:{day.isoformat()}:{user_id}")
        for user_id, email, count in rows
    ]
    enqueue(ctx.settings, *envelopes)
    return {"emails": len(envelopes)}


def _scheduled_day(ctx: TaskContext) -> date:
    scheduled = ctx.message.scheduled_at
    if scheduled:
        try:
            return datetime.fromisoformat(scheduled.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    return utcnow().date()
