"""Writer and reader engines (SQLAlchemy over PyMySQL) and session scopes.

Writes go to the writer (the RDS primary); reads that tolerate replica lag go to
the reader (DB_READER_HOST, the read replica, falling back to the writer). Both
engines recycle connections and check them on checkout so an RDS failover costs
one retry, not a burst of 500s. Reader connections are READ ONLY, so a write sent
to the wrong engine fails in development exactly as it would on a replica.

The reader serves every logged-in page, so its checkout costs no round trip: it
runs in autocommit (each SELECT its own snapshot, which a replica's reads tolerate
anyway), with no ROLLBACK when a session ends nor when the pool takes the
connection back, and instead of pre-ping's round trip it polls the idle socket: a
server that restarted, shut down or killed the connection has closed it or sent
its error, so the socket is readable and the pool opens a new one. A query was
four round trips (ping, SELECT, ROLLBACK, ROLLBACK), now one; the uploads page's
wall time in-process went from 6.6 to 3.8 ms under cProfile, and MariaDB answers a
quarter of the packets (benchmarks/web_path.py has the served figures).
An address that went silent (a failover's old primary) still ends at QUERY_TIMEOUT
and answers 503; the pool is renewed on that disconnect.

Every network wait of the driver is bounded (QUERY_TIMEOUT): during a Multi-AZ
failover the endpoint's old address may answer nothing at all, and without a read
timeout a request would wait on it until gunicorn killed its worker
(tests/chaos/database_failover.py measures both). `unavailable()` tells such
"not now" errors from bugs, so the apps answer them 503 (web) or retry them (worker).
"""
from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from core.secrets import DbCredentials, db_credentials, pending_db_credentials
from core.settings import Settings

ACCESS_DENIED = 1045  # ER_ACCESS_DENIED_ERROR: wrong user or password
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


# The database secret's credentials, for an attempt of LOG_IN_ATTEMPTS; None: none for that attempt.
Credentials = Callable[[str], DbCredentials | None]
LOG_IN_ATTEMPTS = ("cached", "current", "pending")  # as last read; the secret read again; a rotation's next


class Database:
    """The two engines of one app process and their session factories.

    query_timeout bounds each read and write of the driver; None for a caller that must wait longer, as the
    migrations do (a named lock held for minutes, a long ALTER TABLE). With `credentials`, every new connection
    logs in with the secret's current ones (see _log_in_with).
    """

    def __init__(self, writer_url: URL, reader_url: URL, query_timeout: float | None = QUERY_TIMEOUT,
                 credentials: Credentials | None = None) -> None:
        self._query_timeout = query_timeout
        self._credentials = credentials
        self.writer = self._logging_in(_engine(writer_url, read_only=False, query_timeout=query_timeout))
        self.reader = self.writer if reader_url == writer_url and _is_sqlite(writer_url) else (
            self._logging_in(_engine(reader_url, read_only=True, query_timeout=query_timeout))
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

    @cached_property
    def autocommit_writer(self) -> Engine:
        """The writer's server in autocommit, with no reset on return and no pre-ping, for callers whose every
        write is one statement and who handle a dead connection themselves (worker/ledger.py); made on first
        use, with the writer's pool and timeouts. MariaDB/MySQL only: on SQLite, use the writer."""
        return self._logging_in(create_engine(self.writer.url, isolation_level="AUTOCOMMIT",
                                              pool_reset_on_return=None, **_pooling(self._query_timeout)))

    def _logging_in(self, engine: Engine) -> Engine:
        if self._credentials is not None and not _is_sqlite(engine.url):
            event.listen(engine, "do_connect", _log_in_with(self._credentials))
        return engine

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()
        if "autocommit_writer" in self.__dict__:
            self.autocommit_writer.dispose()


def urls(settings: Settings) -> tuple[URL, URL]:
    """Writer and reader URLs, with credentials from the database's secret when configured."""
    writer = settings.database_url
    if settings.db_secret_arn and not _is_sqlite(writer):
        creds = db_credentials(settings, settings.db_secret_arn)
        writer = writer.set(username=creds.username, password=creds.password)
    reader = writer.set(host=settings.db_reader_host) if settings.db_reader_host else writer
    return writer, reader


def from_settings(settings: Settings, query_timeout: float | None = QUERY_TIMEOUT) -> Database:
    if _is_sqlite(settings.database_url) and settings.database_url.database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    arn = settings.db_secret_arn

    def credentials(attempt: str) -> DbCredentials | None:
        assert arn is not None
        if attempt == "pending":
            return pending_db_credentials(settings, arn)
        return db_credentials(settings, arn, refresh=attempt == "current")

    return Database(*urls(settings), query_timeout=query_timeout, credentials=credentials if arn else None)


def _log_in_with(credentials: Credentials) -> Callable[..., Any]:
    """A connection logs in with the secret's credentials as last read. When the server refuses them
    (ACCESS_DENIED: a rotation changed the password), it reads the secret again, then tries the credentials a
    rotation still under way is moving to (its AWSPENDING version, which the server takes before the secret's
    current version moves), without a restart. Connections already open stay open through a rotation."""
    def connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        refused: Exception | None = None
        for attempt in LOG_IN_ATTEMPTS:
            who = credentials(attempt)
            if who is None:
                continue
            try:
                return _connect_as(who, dialect, cargs, cparams)
            except dialect.loaded_dbapi.OperationalError as exc:
                if not exc.args or exc.args[0] != ACCESS_DENIED:
                    raise
                refused = exc
        assert refused is not None  # the cached credentials are always tried
        raise refused
    return connect


def _connect_as(who: DbCredentials, dialect: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    cparams.update(user=who.username, password=who.password)
    return dialect.connect(*cargs, **cparams)


def _pooling(query_timeout: float | None) -> dict[str, Any]:
    """Pool and driver settings of every MariaDB/MySQL engine: recycled before RDS's idle cut, every wait bounded."""
    return dict(
        pool_recycle=280,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": CONNECT_TIMEOUT, "read_timeout": query_timeout,
                      "write_timeout": query_timeout},
    )


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _engine(url: URL, read_only: bool, query_timeout: float | None) -> Engine:
    if _is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not read_only:
        return create_engine(url, pool_pre_ping=True, **_pooling(query_timeout))
    engine = create_engine(url, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True,
                           pool_reset_on_return=None, **_pooling(query_timeout))
    event.listen(engine, "connect", _mysql_read_only)
    event.listen(engine, "checkout", _closed_by_server)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has closed or written to while it sat idle: between statements
    the server sends nothing unless it is going away (a restart, a shutdown, KILL), so a readable socket
    means a dead connection. One poll() instead of pre-ping's round trip; the pool then connects anew."""
    sock = getattr(dbapi_conn, "_sock", None)
    if sock is None:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection (or sent an error) while it was idle")


def _mysql_read_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.close()
