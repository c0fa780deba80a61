"""Real servers for the tests: redis-server and MariaDB, on free ports in temp folders."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pymysql

from eb_tools.aws import wait_until
from eb_tools.local.cloud import free_port


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not found:
        raise RuntimeError(f"{name} is not installed; `make test` installs it (as root) via apt-get")
    return found


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


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
            [_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory),
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process, "redis-server")
        return self

    def stop(self) -> None:
        _stop(self.process)


class MariaDBServer:
    """A throwaway mariadbd: its own datadir, socket and TCP port; user app/app has all rights."""

    USER, PASSWORD = "app", "app-password"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def socket(self) -> str:
        return str(self.directory / "mysqld.sock")

    def start(self) -> MariaDBServer:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        self._log = open(self.directory / "error.log", "wb")  # noqa: SIM115 (open while the server runs)
        subprocess.run(self.install_command(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.process = subprocess.Popen(
            [_binary("mariadbd"), "--no-defaults", f"--datadir={data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}",
             f"--pid-file={self.directory / 'mysqld.pid'}", "--skip-log-bin",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
             "--innodb-flush-log-at-trx-commit=0", "--skip-name-resolve", *self._user()],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )
        _wait_for_port(self.port, self.process, "mariadbd", timeout=60)
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER '{self.USER}'@'%' IDENTIFIED BY '{self.PASSWORD}'")
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{self.USER}'@'%'")
        return self

    def install_command(self) -> list[str]:
        """mariadb-install-db for the datadir; grants by IP and no host-name lookup (--force skips it),
        so a machine whose host name does not resolve can run it."""
        return [_binary("mariadb-install-db"), "--no-defaults", f"--datadir={self.directory / 'data'}",
                "--skip-test-db", "--auth-root-authentication-method=normal", "--skip-name-resolve", "--force",
                *self._user()]

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
        _stop(self.process)
        self._log.close()
