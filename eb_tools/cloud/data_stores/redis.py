"""A redis-server as an ElastiCache replication group's primary node: at its endpoint, requiring the group's
AUTH token, speaking TLS when the group has encryption in transit (then only TLS, as ElastiCache), its data
kept in its folder (append-only file) across stops and runs."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO

from eb_tools.cloud.data_stores.processes import binary, stop, wait_for_port
from eb_tools.cloud.data_stores.tls import ServerCertificate


class Redis:
    def __init__(self, directory: Path, host: str, port: int, auth_token: str | None,
                 tls: ServerCertificate | None) -> None:
        self.directory = directory
        self.host, self.port = host, port
        self.auth_token = auth_token
        self.tls = tls
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def start(self) -> Redis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log, "ab")  # noqa: SIM115 (open while the server runs)
        # The token on the command line would show in `ps`: it is read from a config file only the owner reads.
        config = self.directory / "redis.conf"
        config.write_text(f"requirepass {self.auth_token}\n" if self.auth_token else "")
        config.chmod(0o600)
        self.process = subprocess.Popen([binary("redis-server"), str(config), *self._arguments()],
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.host, self.port, self.process, "redis-server", self.log)
        return self

    def _arguments(self) -> list[str]:
        listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.certificate),
                  "--tls-key-file", str(self.tls.key), "--tls-auth-clients", "no"] if self.tls else \
            ["--port", str(self.port)]
        return [*listen, "--bind", self.host, "--dir", str(self.directory), "--appendonly", "yes", "--save", "",
                "--protected-mode", "no"]

    def stop(self) -> None:
        stop(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None
