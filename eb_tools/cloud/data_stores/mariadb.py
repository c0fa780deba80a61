"""A MariaDB server as RDS runs one: its own data folder, listening at its endpoint, with the master user
(and database) the template names, and read replicas fed by binary-log replication.

The data folder is kept across stops and runs; a start on an existing folder restarts that server and gives
the master user the template's password (each new local cloud generates the credentials' secret anew, as a
restore of a snapshot with a new master password would). The master user has the privileges RDS gives it
(RDS user guide, "Master user account privileges": no SUPER), so a migration that needs more fails here as on
RDS, and a replica refuses its writes (read_only).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import pymysql

from eb_tools.cloud.data_stores.processes import binary, stop, wait_for_port
from eb_tools.errors import CloudError

# RDS for MariaDB's master user privileges (RDS user guide, "Master user account privileges").
MASTER_PRIVILEGES = ("SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "
                     "SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
                     "REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, "
                     "EVENT, TRIGGER")
REPLICATION_USER = "rdsrepladmin"  # RDS's own replication user, which the master user cannot see or change


class MariaDB:
    """One mariadbd. `server_id` None: a server without a binary log (a test's lone server)."""

    def __init__(self, directory: Path, host: str, port: int, server_id: int | None = 1,
                 read_only: bool = False) -> None:
        self.directory = directory
        self.host, self.port = host, port
        self.server_id = server_id
        self.read_only = read_only
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        # A socket path must fit in 107 bytes, which a data folder deep in a temp tree may not.
        self._sockets = Path(tempfile.mkdtemp(prefix="ebdb-"))

    @property
    def socket(self) -> str:
        return str(self._sockets / "mysqld.sock")

    @property
    def log(self) -> Path:
        return self.directory / "error.log"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def tmp(self) -> Path:
        """The server's own temporary folder: in a shared /tmp, servers starting at once (the tests' in
        parallel) removed each other's temporary tables, failing a bootstrap with 'Unknown table
        mysql.tmp_user_sys'."""
        return self.directory / "tmp"

    @property
    def created(self) -> bool:
        """Whether the data folder holds a server already (an earlier run's)."""
        return (self.data / "mysql").is_dir()

    def start(self) -> MariaDB:
        """Start the server; the first start creates its data folder. A CloudError (one line) when it fails."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        self._sockets.mkdir(exist_ok=True)
        if not self.created:
            self._install()
        self._log = open(self.log, "ab")  # noqa: SIM115 (open while the server runs)
        # A session of its own: a Ctrl-C at the terminal reaches the run, which stops the server in order.
        self.process = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=self._log,
                                        start_new_session=True)
        wait_for_port(self.host, self.port, self.process, "mariadbd", self.log)
        return self

    def _install(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(self.install_command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        if installed.returncode != 0:
            raise CloudError(f"mariadb-install-db failed for {self.data}: {installed.stderr.strip()[-300:]}")

    def install_command(self) -> list[str]:
        """mariadb-install-db for the data folder; grants by IP and no host-name lookup (--force skips it),
        so a machine whose host name does not resolve can run it."""
        return [binary("mariadb-install-db"), "--no-defaults", f"--datadir={self.data}", f"--tmpdir={self.tmp}",
                "--skip-test-db", "--auth-root-authentication-method=normal", "--skip-name-resolve", "--force",
                *_as_user()]

    def _command(self) -> list[str]:
        binlog = ["--skip-log-bin"] if self.server_id is None else [
            f"--server-id={self.server_id}", f"--log-bin={self.data / 'binlog'}", "--binlog-format=ROW",
            "--log-slave-updates"]
        return [binary("mariadbd"), "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
                f"--bind-address={self.host}", f"--socket={self.socket}", f"--pid-file={self.directory / 'pid'}",
                f"--tmpdir={self.tmp}",
                *binlog, *(["--read-only=1"] if self.read_only else []), "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=2", "--skip-name-resolve",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci", *_as_user()]

    def root(self) -> pymysql.Connection:
        """A connection as the server's root, through its socket (never reachable from the apps)."""
        return pymysql.connect(unix_socket=self.socket, user="root", autocommit=True)

    def set_master_user(self, user: str, password: str, database: str | None) -> None:
        """The template's master user, with RDS's privileges and this password, and its database."""
        with self.root() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
            cursor.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
            cursor.execute(f"GRANT {MASTER_PRIVILEGES} ON *.* TO %s@'%%' WITH GRANT OPTION", (user,))
            if database:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{_identifier(database)}` CHARACTER SET utf8mb4")

    def allow_replicas(self, password: str) -> None:
        """The replication user replicas connect as, made outside the binary log (each server has its own)."""
        with self.root() as connection, connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_log_bin=0")
            cursor.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (REPLICATION_USER, password))
            cursor.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (REPLICATION_USER, password))
            cursor.execute("GRANT REPLICATION SLAVE ON *.* TO %s@'%%'", (REPLICATION_USER,))

    def replicate_from(self, source: MariaDB, password: str, fresh: bool) -> None:
        """Follow `source` (a new replica from the first transaction of its binary log, which the source
        keeps whole; a kept replica from where it stopped, at the source's address of this run)."""
        with self.root() as connection, connection.cursor() as cursor:
            cursor.execute("STOP SLAVE")
            if fresh:
                cursor.execute("RESET MASTER")
                cursor.execute("SET GLOBAL gtid_slave_pos=''")
            cursor.execute("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
                           "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
                           (source.host, source.port, REPLICATION_USER, password))
            cursor.execute("START SLAVE")

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self._sockets, ignore_errors=True)
        if self._log is not None:
            self._log.close()
            self._log = None


@functools.cache
def local_version() -> str:
    """The version of this machine's MariaDB server, e.g. 10.11.14 (from `mariadbd --version`)."""
    printed = subprocess.run([binary("mariadbd"), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"Ver (\d+\.\d+\.\d+)-MariaDB", printed)
    if not found:
        raise CloudError(f"cannot read MariaDB's version from {printed.strip()!r}")
    return found.group(1)


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise CloudError(f"database name {name!r}: letters, digits and underscores only")
    return name


def _as_user() -> list[str]:
    """mariadbd refuses to run as root unless told to."""
    return ["--user=root"] if os.geteuid() == 0 else []
