"""Writer and reader engines (SQLAlchemy over PyMySQL) and session scopes.

Writes go to the writer (the RDS primary); reads that tolerate replica lag go to
the reader (DB_READER_HOST, the read replica, falling back to the writer). Both
engines pre-ping and recycle connections so an RDS failover costs one retry, not
a burst of 500s. Reader connections are READ ONLY, so a write sent to the wrong
engine fails in development exactly as it would on a replica.

Every network wait of the driver is bounded (QUERY_TIMEOUT): during a Multi-AZ
failover the endpoint's old address may answer nothing at all, and without a read
timeout a request would wait on it until gunicorn killed its worker
(tests/chaos/database_failover.py measures both). `unavailable()` tells such
"not now" errors from bugs, so the apps answer them 503 (web) or retry them (worker).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from core.secrets import db_credentials
from core.settings import Settings

CONNECT_TIMEOUT = 3  # seconds for the TCP connection to the server
# Seconds for each read (the server's greeting included: PyMySQL waits for it under the read timeout, not the
# connect timeout) and each write. Far above any query of the apps, far below gunicorn's 60 s web timeout.
QUERY_TIMEOUT = 10

# MySQL/MariaDB error codes that mean "not now": the server cannot be reached or is going away, is read-only
# (the endpoint still leads to a demoted writer), has no connection left, or gave up on a lock. A retry later
# may succeed; none of them is a bug in the query.
UNAVAILABLE_CODES = frozenset({
    1040,  # ER_CON_COUNT_ERROR: too many connections
    1053,  # ER_SERVER_SHUTDOWN
    1205, 1213,  # lock wait timeout, deadlock
    1290, 1836,  # the server runs --read-only / read-only mode
    1927,  # ER_CONNECTION_KILLED
    2002, 2003,  # CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR: cannot connect
    2006, 2013,  # CR_SERVER_GONE_ERROR, CR_SERVER_LOST (also a read or write timeout)
    2014, 2045, 2055, 4031,  # the rest of SQLAlchemy's MySQL disconnect codes
})


def unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database cannot answer now, rather than a wrong query."""
    if isinstance(exc, (PoolTimeoutError, DisconnectionError)):  # every pooled connection busy; a dead one
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in UNAVAILABLE_CODES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)  # SQLite's busy file


class Database:
    """The two engines of one app process and their session factories.

    query_timeout bounds each read and write of the driver; None for a caller that must wait longer, as the
    migrations do (a named lock held for minutes, a long ALTER TABLE).
    """

    def __init__(self, writer_url: URL, reader_url: URL, query_timeout: float | None = QUERY_TIMEOUT) -> None:
        self.writer = _engine(writer_url, read_only=False, query_timeout=query_timeout)
        self.reader = self.writer if reader_url == writer_url and _is_sqlite(writer_url) else (
            _engine(reader_url, read_only=True, query_timeout=query_timeout)
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


def from_settings(settings: Settings, query_timeout: float | None = QUERY_TIMEOUT) -> Database:
    if _is_sqlite(settings.database_url) and settings.database_url.database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(*urls(settings), query_timeout=query_timeout)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _engine(url: URL, read_only: bool, query_timeout: float | None) -> Engine:
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
        connect_args={"connect_timeout": CONNECT_TIMEOUT, "read_timeout": query_timeout,
                      "write_timeout": query_timeout},
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
