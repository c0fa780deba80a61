"""A redis-server as an ElastiCache replication group's primary node: at its endpoint, requiring the group's
AUTH token, speaking TLS when the group has encryption in transit (then only TLS, as ElastiCache), its data
kept in its folder (append-only file) across stops and runs.

The token is the default user's password, of which Redis's ACLs allow several: ElastiCache's ROTATE strategy
(old and new tokens both valid) is two passwords, SET one (set_tokens: connections already authenticated
stay, as on ElastiCache)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import IO

from eb_tools.cloud.data_stores.processes import binary, stop, wait_for_port
from eb_tools.cloud.data_stores.tls import ServerCertificate
from eb_tools.errors import CloudError


class Redis:
    def __init__(self, directory: Path, host: str, port: int, auth_token: str | None,
                 tls: ServerCertificate | None) -> None:
        self.directory = directory
        self.host, self.port = host, port
        self.tokens = [auth_token] if auth_token else []
        self.tls = tls
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def start(self) -> Redis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log, "ab")  # noqa: SIM115 (open while the server runs)
        config = self._write_config()
        self.process = subprocess.Popen([binary("redis-server"), str(config), *self._arguments()],
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.host, self.port, self.process, "redis-server", self.log)
        return self

    def set_tokens(self, tokens: list[str]) -> None:
        """From now on these tokens (one or two) authenticate new connections; the running server too."""
        command = ["ACL", "SETUSER", "default", "on", "resetpass", *(f">{t}" for t in tokens)]
        tls = ["--tls", "--insecure"] if self.tls else []  # its own server: no need to check whose it is
        done = subprocess.run([binary("redis-cli"), "-h", self.host, "-p", str(self.port), *tls, "--no-auth-warning",
                               *command],
                              env={**os.environ, "REDISCLI_AUTH": self.tokens[0] if self.tokens else ""},
                              capture_output=True, text=True, timeout=10)
        if done.returncode != 0 or done.stdout.strip() != "OK":
            raise CloudError(f"redis-server refused the new AUTH tokens: {(done.stdout + done.stderr).strip()}")
        self.tokens = list(tokens)
        self._write_config()

    def _write_config(self) -> Path:
        """The tokens on the command line would show in `ps`: they go to a config file only the owner reads."""
        config = self.directory / "redis.conf"
        passwords = " ".join(f">{t}" for t in self.tokens) or "nopass"
        config.write_text(f"user default on {passwords} ~* &* +@all\n")
        config.chmod(0o600)
        return config

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
