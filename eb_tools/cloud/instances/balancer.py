"""A web environment's Application Load Balancer, as nginx: one listener, the environment's healthy instances
as its targets, and the headers an ALB adds (X-Forwarded-For, -Proto, -Port).

Targets change as instances pass or fail their health checks (hosting.py decides): the configuration is
written anew and nginx reloaded, so requests in flight finish and new ones go to the healthy instances only; a
target that fails between two checks is skipped for the next (proxy_next_upstream), as an ALB retries no
request but stops routing to a failed target. Its access log ends each line with the request's length (what
the e2e tests read to prove no upload's bytes went through the web tier).
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from eb_tools import nginx_conf
from eb_tools.cloud.data_stores.processes import binary
from eb_tools.cloud.instances import processes
from eb_tools.errors import CloudError

CONF = """\
{user}pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
{log_format}
    access_log {folder}/access.log main;
    client_body_temp_path {folder}/tmp;
    proxy_temp_path {folder}/tmp;
    client_max_body_size 0;
    upstream targets {{
{servers}
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://targets;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_next_upstream error timeout http_502;
        }}
    }}
}}
"""
NO_TARGET = "        server 127.0.0.1:9 down;  # no healthy instance: 502, as an ALB with no healthy target"


class Balancer:
    """nginx listening at `listen` (host:port) in `folder`, sending requests to its targets."""

    def __init__(self, folder: Path, listen: str) -> None:
        self.folder, self.listen = folder, listen
        self.targets: tuple[tuple[str, int], ...] = ()
        self.process: subprocess.Popen | None = None

    def start(self) -> Balancer:
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self._write()
        self.process = processes.start([binary("nginx"), "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
                                        "-e", str(self.folder / "error.log"), "-g", "daemon off;"], dict(os.environ),
                                       self.folder / "nginx.out")
        return self

    def route_to(self, targets: list[tuple[str, int]]) -> None:
        """From now on, `targets` only (new requests; those in flight finish where they are)."""
        if tuple(targets) == self.targets:
            return
        self.targets = tuple(targets)
        with (self.folder / "targets.log").open("a") as log:  # when each target came and went, for a reader
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(f'{h}:{p}' for h, p in targets) or '-'}\n")
        self._write()
        if self.process is not None and self.process.poll() is None:
            reloaded = subprocess.run([binary("nginx"), "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
                                       "-s", "reload"], capture_output=True, text=True)
            if reloaded.returncode != 0:
                raise CloudError(f"the load balancer's nginx refused its targets: {reloaded.stderr.strip()}")

    def _write(self) -> None:
        servers = "\n".join(f"        server {host}:{port} max_fails=0;" for host, port in self.targets)
        (self.folder / "nginx.conf").write_text(CONF.format(user=nginx_conf.workers_user(), folder=self.folder,
                                                            listen=self.listen, servers=servers or NO_TARGET,
                                                            log_format=nginx_conf.LOG_FORMAT))

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None
