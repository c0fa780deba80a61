"""Writer and reader engines (SQLAlchemy over PyMySQL) and session scopes.

Writes go to the writer (the RDS primary); reads that tolerate replica lag go to
the reader (DB_READER_HOST, the read replica, falling back to the writer). Both
engines pre-ping and recycle connections so an RDS failover costs one retry, not
a burst of 500s. Reader connections are READ ONLY, so a write sent to the wrong
engine fails in development exactly as it would on a replica.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from core.secrets import db_credentials
from core.settings import Settings


class Database:
    """The two engines of one app process and their session factories."""

    def __init__(self, writer_url: URL, reader_url: URL) -> None:
        self.writer = _engine(writer_url, read_only=False)
        self.reader = self.writer if reader_url == writer_url and _is_sqlite(writer_url) else (
            _engine(reader_url, read_only=True)
        )
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction on the writer: committed on success, rolled back on error."""
        with self._write_sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session on the reader, for queries that tolerate replica lag."""
        with self._read_sessions() as session:
            yield session

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


def urls(settings: Settings) -> tuple[URL, URL]:
    """Writer and reader URLs, with credentials from the RDS secret when configured."""
    writer = settings.database_url
    if settings.db_secret_arn and not _is_sqlite(writer):
        creds = db_credentials(settings, settings.db_secret_arn)
        writer = writer.set(username=creds.username, password=creds.password)
    reader = writer.set(host=settings.db_reader_host) if settings.db_reader_host else writer
    return writer, reader


def from_settings(settings: Settings) -> Database:
    if _is_sqlite(settings.database_url) and settings.database_url.database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(*urls(settings))


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _engine(url: URL, read_only: bool) -> Engine:
    if _is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=280,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )
    if read_only:
        event.listen(engine, "connect", _mysql_read_only)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _mysql_read_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.close()
