"""Real servers for the tests: redis-server and MariaDB, on free ports in temp folders."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import BinaryIO

import pymysql

from eb_tools.aws import wait_until
from eb_tools.cloud.data_stores.processes import binary
from eb_tools.cloud.data_stores.processes import stop as stop_process  # the tests' name for the product's stop
from eb_tools.cloud.server import free_port


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_until(listening, timeout, f"{what} listening on {port}", interval=0.05)


def parents() -> dict[int, int]:
    """{pid: its parent's pid} of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def child_processes(parent: int) -> list[int]:
    """The processes whose parent is `parent` (a gunicorn master's workers), from /proc."""
    return sorted(pid for pid, ppid in parents().items() if ppid == parent)


def descendants(parent: int) -> list[int]:
    """Every process below `parent`, from /proc."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [parent]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


class RedisServer:
    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.directory = directory
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory),
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, "redis-server")
        return self

    def stop(self) -> None:
        stop_process(self.process)


class MariaDBServer:
    """A throwaway mariadbd: its own datadir, socket and TCP port; user app/app has all rights.

    stop() and start() again keep the datadir and the port (a restart); server_id turns the binary log on, for
    a primary/replica pair (tests/chaos/database_failover.py).
    """

    USER, PASSWORD = "app", "app-password"
    REPLICATION_USER, REPLICATION_PASSWORD = "repl", "repl-password"

    def __init__(self, directory: Path, server_id: int | None = None) -> None:
        self.directory = directory
        self.server_id = server_id
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log: BinaryIO | None = None

    @property
    def socket(self) -> str:
        return str(self.directory / "mysqld.sock")

    @property
    def tmp(self) -> Path:
        """Its own temporary folder: servers bootstrapping at once in a shared /tmp removed each other's
        temporary tables (eb_tools/cloud/data_stores/mariadb.py)."""
        folder = self.directory / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def start(self) -> MariaDBServer:
        """Start the server; the first start creates the datadir and the users, a later one restarts."""
        data = self.directory / "data"
        first = not (data / "mysql").is_dir()
        data.mkdir(parents=True, exist_ok=True)
        self._log = open(self.directory / "error.log", "ab")  # noqa: SIM115 (open while the server runs)
        if first:
            installed = subprocess.run(self.install_command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
            if installed.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed ({installed.returncode}): {installed.stderr[-2000:]}")
        self.process = subprocess.Popen(
            [binary("mariadbd"), "--no-defaults", f"--datadir={data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}",
             f"--pid-file={self.directory / 'mysqld.pid'}", f"--tmpdir={self.tmp}", *self._binlog(),
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
             "--innodb-flush-log-at-trx-commit=0", "--skip-name-resolve", *self._user()],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )
        _wait_for_port(self.port, self.process, "mariadbd", timeout=60)
        if first:
            with self.root() as conn, conn.cursor() as cur:
                cur.execute("SET SESSION sql_log_bin=0")  # each server of a pair makes its own users
                cur.execute(f"CREATE USER '{self.USER}'@'%' IDENTIFIED BY '{self.PASSWORD}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{self.USER}'@'%'")
                if self.server_id is not None:
                    cur.execute(f"CREATE USER '{self.REPLICATION_USER}'@'%' "
                                f"IDENTIFIED BY '{self.REPLICATION_PASSWORD}'")
                    cur.execute(f"GRANT REPLICATION SLAVE ON *.* TO '{self.REPLICATION_USER}'@'%'")
        return self

    def _binlog(self) -> list[str]:
        """No binary log for a lone server; a binary log and GTIDs for one of a pair, which may become a
        semi-synchronous replica (replicate_from turns the primary's side on once the replica is there)."""
        if self.server_id is None:
            return ["--skip-log-bin"]
        return [f"--server-id={self.server_id}", f"--log-bin={self.directory / 'data' / 'binlog'}",
                "--log-slave-updates", "--binlog-format=ROW", "--gtid-strict-mode=1",
                "--rpl-semi-sync-slave-enabled=1",
                "--rpl-semi-sync-master-wait-point=AFTER_SYNC", "--rpl-semi-sync-master-timeout=30000"]

    def replicate_from(self, primary: MariaDBServer) -> None:
        """Become a replica of `primary` from its first transaction (both started with a server_id)."""
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("RESET MASTER")  # no transactions of its own: the primary's history is the only one
            cur.execute("SET GLOBAL gtid_slave_pos=''")
            cur.execute(f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, "
                        f"MASTER_USER='{self.REPLICATION_USER}', MASTER_PASSWORD='{self.REPLICATION_PASSWORD}', "
                        "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1")
            cur.execute("SET GLOBAL read_only=1")
            cur.execute("START SLAVE")
        with primary.root() as conn, conn.cursor() as cur:
            def connected() -> bool:
                cur.execute("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'")
                return int(cur.fetchone()[1]) >= 1

            wait_until(connected, 30, "the replica connected as semi-synchronous", interval=0.1)
            # From now on a commit returns once the replica has the transaction (AFTER_SYNC), as RDS's
            # synchronous standby has it.
            cur.execute("SET GLOBAL rpl_semi_sync_master_enabled=1")

    def promote(self, timeout: float = 30) -> None:
        """As a standby taking over: apply every transaction already received, stop replicating, accept
        writes. Semi-synchronous replication (AFTER_SYNC) means every commit the primary acknowledged was
        received here first."""
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            columns = [d[0] for d in cur.description]
            status = dict(zip(columns, cur.fetchone(), strict=True))
            cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (status["Gtid_IO_Pos"], timeout))
            if cur.fetchone()[0] != 0:
                raise RuntimeError(f"the replica did not apply {status['Gtid_IO_Pos']} within {timeout}s: "
                                   f"{status['Last_SQL_Error'] or status['Last_IO_Error']}")
            cur.execute("STOP SLAVE")
            cur.execute("RESET SLAVE ALL")
            cur.execute("SET GLOBAL read_only=0")

    def kill(self) -> None:
        """SIGKILL: the server dies as a crashed instance does, without a shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def restart(self) -> MariaDBServer:
        self.stop()
        return self.start()

    def install_command(self) -> list[str]:
        """mariadb-install-db for the datadir; grants by IP and no host-name lookup (--force skips it),
        so a machine whose host name does not resolve can run it."""
        return [binary("mariadb-install-db"), "--no-defaults", f"--datadir={self.directory / 'data'}",
                f"--tmpdir={self.tmp}", "--skip-test-db", "--auth-root-authentication-method=normal",
                "--skip-name-resolve", "--force", *self._user()]

    @staticmethod
    def _user() -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def root(self) -> pymysql.Connection:
        return pymysql.connect(unix_socket=self.socket, user="root", autocommit=True)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its DATABASE_URL."""
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def url(self, database: str) -> str:
        return (f"mysql+pymysql://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}/{database}"
                "?charset=utf8mb4")

    def stop(self) -> None:
        stop_process(self.process)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
