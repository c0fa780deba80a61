"""Tables shared by the web and worker apps. Schema changes go through migrations."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The largest id an Integer primary key holds: a signed 32-bit INT on MariaDB/MySQL. A larger number given
# as an id is refused before a query, where the database driver would fail on it.
MAX_ROW_ID = 2**31 - 1
MAX_VERSION_ID = 1024  # S3 version ids are opaque strings of at most 1,024 bytes (S3 API reference)


def utcnow() -> datetime:
    """Naive UTC, as stored in DATETIME columns on MariaDB and SQLite alike."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # False from sign-up until the mailed link is followed (core/verification.py). The database's default is
    # true: accounts from before verification, and those the previous release still creates during a rolling
    # deployment (it logs them in at once), count as verified.
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=true())


class EmailVerification(Base):
    """A sign-up's mailed link until it is followed: the SHA-256 of its token, never the token, and its expiry."""

    __tablename__ = "email_verifications"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Upload(Base):
    """An image the browser sends straight to S3; the web app never carries its bytes.

    s3_key is where the browser's presigned POST puts it; s3_version_id is the S3
    version found there at completion, the one the worker reads, checks and copies
    to the keys pages serve (core/storage.py), which no presigned POST can write.
    """

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_user_created", "user_id", "created_at"),)

    PENDING, UPLOADED, READY, FAILED = "pending", "uploaded", "ready", "failed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    s3_key: Mapped[str] = mapped_column(String(512), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    s3_version_id: Mapped[str | None] = mapped_column(String(MAX_VERSION_ID), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The widths the worker made, largest first ("1600,800,200"; never upscaled, so they depend on the
    # image); pages build srcset from them. NULL until ready.
    variant_widths: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TaskLedger(Base):
    """One row per idempotency key: the worker runs a task's side effect once per key.

    in_progress: a worker holds the lease (owner, lease_until); sending: it is inside a
    downstream call that cannot be made idempotent (SES), committed before the call, so a
    delivery finding it with an expired lease knows a process died inside the call; done:
    finished, result kept; failed: the last attempt raised, the next delivery retries;
    rejected: the message can never succeed (bad envelope, unknown task, bad arguments, bad
    image), result holds the reason; gave_up: a process died inside the call of an
    at-most-once task, so it is not sent again (result says so: flagged for a person).
    crashes_in_call counts the deliveries that found the key `sending` with an expired lease.
    """

    __tablename__ = "task_ledger"

    IN_PROGRESS, SENDING, DONE, FAILED, REJECTED, GAVE_UP = (
        "in_progress", "sending", "done", "failed", "rejected", "gave_up")

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    crashes_in_call: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
