"""Backups of a local MariaDB server, as RDS takes and restores them: a snapshot is a consistent logical dump
(mariadb-dump --single-transaction, which reads every table in one InnoDB snapshot without locking the writes)
with the server's binary-log position at that instant (--master-data=2) and the users it had (RDS restores
the master user with the password of the snapshot's time); a restore loads the dump into a new server, and a
point-in-time restore then replays the source's binary log from that position up to the time asked
(mariadb-binlog --stop-datetime), which the writer keeps whole for its replicas.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eb_tools.cloud.data_stores.mariadb import REPLICATION_USER, MariaDB
from eb_tools.cloud.data_stores.processes import binary
from eb_tools.errors import CloudError

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
SYSTEM_USERS = ("root", "mariadb.sys", REPLICATION_USER)
POSITION = re.compile(r"^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);", re.MULTILINE)


@dataclass(frozen=True)
class Backup:
    """A dump's folder and where in the source's binary log it was taken."""

    folder: Path
    taken: datetime.datetime
    binlog_file: str
    binlog_position: int

    @property
    def dump(self) -> Path:
        return self.folder / "dump.sql"

    @classmethod
    def read(cls, folder: Path) -> Backup | None:
        """The backup in `folder`, None when there is none (or it never finished)."""
        try:
            meta = json.loads((folder / "backup.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(folder, datetime.datetime.fromisoformat(meta["taken"]), meta["binlog_file"],
                   int(meta["binlog_position"]))


def take(server: MariaDB, folder: Path) -> Backup:
    """A consistent dump of `server`'s databases and users into `folder` (made anew)."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = datetime.datetime.now(datetime.UTC)
    with server.root() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        schemas = sorted(row[0] for row in cursor.fetchall() if row[0] not in SYSTEM_SCHEMAS)
        users = _users(cursor)
    dumped = subprocess.run([binary("mariadb-dump"), "--no-defaults", f"--socket={server.socket}", "--user=root",
                             "--single-transaction", "--master-data=2", "--routines", "--events", "--triggers",
                             "--databases", *schemas], capture_output=True, text=True)
    found = POSITION.search(dumped.stdout)
    if dumped.returncode != 0 or not found or not schemas:
        raise CloudError(f"mariadb-dump of {server.data} failed: {dumped.stderr.strip()[-300:] or 'no databases'}")
    (folder / "dump.sql").write_text(users + dumped.stdout)
    backup = Backup(folder, taken, found.group(1), int(found.group(2)))
    meta = {**asdict(backup), "folder": str(folder), "taken": taken.isoformat()}
    (folder / "backup.json").write_text(json.dumps(meta))
    return backup


def _users(cursor: Any) -> str:
    """The application's users as statements (RDS's own and the server's root left out)."""
    statements: list[str] = []
    cursor.execute("SELECT user, host FROM mysql.user WHERE host = %s", ("%",))
    for user, host in cursor.fetchall():
        if user in SYSTEM_USERS:
            continue
        for query in ("SHOW CREATE USER %s@%s", "SHOW GRANTS FOR %s@%s"):
            cursor.execute(query, (user, host))
            statements += [f"{row[0]};" for row in cursor.fetchall()]
    return "\n".join([*statements, ""])


def load(server: MariaDB, backup: Backup) -> None:
    """Load `backup` into the new `server`."""
    _run_sql(server, backup.dump.read_bytes(), f"loading {backup.dump}")


def replay(server: MariaDB, source_data: Path, backup: Backup, until: datetime.datetime) -> None:
    """Apply the source's binary log from `backup`'s position up to (not including) `until`."""
    logs = _logs_from(source_data, backup.binlog_file)
    stop = until.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    # mariadb-binlog reads --stop-datetime in the local time zone: UTC, as RDS's RestoreTime is.
    events = subprocess.run([binary("mariadb-binlog"), "--no-defaults", f"--start-position={backup.binlog_position}",
                             f"--stop-datetime={stop}", *map(str, logs)], capture_output=True,
                            env={**os.environ, "TZ": "UTC"})
    if events.returncode != 0:
        raise CloudError(f"mariadb-binlog failed on {source_data}: {events.stderr.decode()[-300:]}")
    _run_sql(server, events.stdout, "replaying the binary log")


def _logs_from(data: Path, first: str) -> list[Path]:
    """The binary log files of a server's data folder, from `first` on, in order."""
    index = data / "binlog.index"
    names = [Path(line.strip()).name for line in index.read_text().splitlines() if line.strip()]
    if first not in names:
        raise CloudError(f"the binary log {first} is no longer in {data}")
    return [data / name for name in names[names.index(first):]]


def _run_sql(server: MariaDB, sql: bytes, what: str) -> None:
    ran = subprocess.run([binary("mariadb"), "--no-defaults", f"--socket={server.socket}", "--user=root"],
                         input=sql, capture_output=True)
    if ran.returncode != 0:
        raise CloudError(f"{what} into {server.data} failed: {ran.stderr.decode().strip()[-300:]}")
