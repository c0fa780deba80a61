"""Run the database migrations once, however many instances start at the same time.

`python -m core.migrate` is what the predeploy hook calls. On MariaDB/MySQL it
holds a named lock (GET_LOCK) for the whole upgrade, so a second instance waits
and then finds nothing left to do; on SQLite a file lock does the same. A schema
at a revision this code's scripts do not know was migrated by a later release:
a rollback brings this code back onto it (`eb_tools rollback` refuses one the
later migrations would break), so nothing is done, where Alembic would fail the
deployment ("Can't locate revision").
"""
from __future__ import annotations

import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

from core import db
from core.settings import ConfigError, Settings

LOCK_NAME = "eb_app_migrations"
LOCK_TIMEOUT_SECONDS = 600
SCRIPTS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    pass


def upgrade(database: db.Database) -> tuple[str | None, str | None]:
    """Bring the schema to head; return the revisions before and after."""
    config = _config()
    with database.writer.connect() as conn, _locked(conn):
        before = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
        if before is not None and not _known(config, before):
            return before, before  # a later release's schema (see the module docstring)
        with conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    return before, after


def head() -> str | None:
    """The revision this code's scripts end at."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def _config() -> Config:
    """Alembic's configuration of this code's scripts."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def _known(config: Config, revision: str) -> bool:
    try:
        ScriptDirectory.from_config(config).get_revision(revision)
    except CommandError:  # "Can't locate revision": no script of this code defines it
        return False
    return True


@contextmanager
def _locked(conn: Connection) -> Iterator[None]:
    if conn.dialect.name == "sqlite":
        with _file_lock(conn):
            yield
        return
    got = conn.execute(
        text("SELECT GET_LOCK(:name, :timeout)"), {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_SECONDS}
    ).scalar()
    conn.commit()
    if got != 1:
        raise MigrationError(f"another instance held the migration lock for {LOCK_TIMEOUT_SECONDS}s")
    try:
        yield
    finally:
        conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        conn.commit()


@contextmanager
def _file_lock(conn: Connection) -> Iterator[None]:
    database = conn.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main() -> int:
    try:
        settings = Settings.from_env()
        database = db.from_settings(settings, query_timeout=None)  # may wait LOCK_TIMEOUT_SECONDS for the lock
        before, after = upgrade(database)
    except (ConfigError, MigrationError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    code = head()
    state = ("already at head" if before == after == code else f"upgraded from {before or 'empty'}"
             if before != after else f"newer than this code's {code}: a later release migrated it; nothing to do")
    print(f"migrate: schema at {after} ({state})")
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
