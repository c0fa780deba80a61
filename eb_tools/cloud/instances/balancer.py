"""A web environment's Application Load Balancer, as nginx: an HTTP listener, an HTTPS one when the
environment has one (aws:elbv2:listener:443 with an ACM certificate: nginx terminates TLS with that
certificate and its key, under the TLS 1.2 and 1.3 of ELBSecurityPolicy-TLS13-1-2-2021-06), the environment's
healthy instances as its targets, and the headers an ALB adds (X-Forwarded-For, -Proto, -Port, and
X-Amzn-Trace-Id: a Root when the request has none, else a Self put first, replacing one already there; ELB
guide, "Request tracing for your Application Load Balancer". nginx cannot write the epoch second in hex, so
the 8 digits for the time are random here: the app uses the whole Root as an id, never its time).

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
worker_processes {workers};
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
    # X-Forwarded-Port: the port the client addressed, as the ALB sends its listener's (80, 443). A listener
    # here stands in on another port, reached directly (the Host names the port) or through a name mapped to
    # it (a browser's host-resolver rule or a proxy: the Host names none, the scheme's default is meant).
    map $scheme $scheme_port {{ https 443; default 80; }}
    map $http_host $addressed_port {{ "~:(?<port>[0-9]+)$" $port; default $scheme_port; }}
    map $request_id $trace_new {{ "~^(?<time>[0-9a-f]{{8}})(?<id>[0-9a-f]{{24}})$" "1-$time-$id"; }}
    map $http_x_amzn_trace_id $amzn_trace_id {{
        "~^Self=[^;]*;(?<kept>.*Root=.*)$" "Self=$trace_new;$kept";
        "~(^|;)Root=" "Self=$trace_new;$http_x_amzn_trace_id";
        default "Root=$trace_new";
    }}
{servers_blocks}
}}
"""
SERVER = """\
    server {{
        listen {listen};{tls}{routes}
    }}
"""
ROUTES = """
        location / {{
            proxy_pass http://targets;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $addressed_port;
            proxy_set_header X-Amzn-Trace-Id $amzn_trace_id;
            proxy_next_upstream error timeout http_502;
        }}
"""
TLS = """
        ssl_certificate {folder}/tls/certificate.pem;
        ssl_certificate_key {folder}/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;"""
WORKERS = 1  # nginx worker processes
NO_TARGET = "        server 127.0.0.1:9 down;  # no healthy instance: 502, as an ALB with no healthy target"
# No registered target at all (an environment scaled to no instance): an ALB answers 503 ("The target groups for
# the load balancer have no registered targets", ELB guide, load-balancer-troubleshooting, HTTP 503); nginx's own
# page reads "503 Service Temporarily Unavailable", as the ALB's does.
UNAVAILABLE = """
        location / {
            return 503;
        }
"""


class Balancer:
    """nginx listening at `listen` (host:port) in `folder`, sending requests to its targets."""

    def __init__(self, folder: Path, listen: str, tls_listen: str | None = None) -> None:
        self.folder, self.listen, self.tls_listen = folder, listen, tls_listen
        self.certificate: tuple[bytes, bytes] | None = None  # the HTTPS listener's (certificate chain, key)
        self.targets: tuple[tuple[str, int], ...] = ()
        self.registered = True  # whether any target is registered (else 503 to every request)
        self.process: subprocess.Popen | None = None

    def start(self) -> Balancer:
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self._write()
        self.process = processes.start([binary("nginx"), "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
                                        "-e", str(self.folder / "error.log"), "-g", "daemon off;"], dict(os.environ),
                                       self.folder / "nginx.out")
        return self

    def route_to(self, targets: list[tuple[str, int]], registered: bool = True) -> None:
        """From now on, `targets` only (new requests; those in flight finish where they are); with none
        `registered`, 503 to every request."""
        if (tuple(targets), registered) == (self.targets, self.registered):
            return
        self.targets, self.registered = tuple(targets), registered
        with (self.folder / "targets.log").open("a") as log:  # when each target came and went, for a reader
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(f'{h}:{p}' for h, p in targets) or '-'}\n")
        self._write()
        self._reload()

    def _reload(self) -> None:
        if self.process is not None and self.process.poll() is None:
            reloaded = subprocess.run([binary("nginx"), "-p", f"{self.folder}/", "-c", str(self.folder / "nginx.conf"),
                                       "-s", "reload"], capture_output=True, text=True)
            if reloaded.returncode != 0:
                raise CloudError(f"the load balancer's nginx refused its configuration: {reloaded.stderr.strip()}")

    def serve_tls(self, certificate: tuple[bytes, bytes] | None) -> None:
        """From now on an HTTPS listener with this (certificate chain, key), or none; nginx reloads."""
        if certificate == self.certificate:
            return
        self.certificate = certificate
        self._write()
        self._reload()

    def _write(self) -> None:
        servers = "\n".join(f"        server {host}:{port} max_fails=0;" for host, port in self.targets)
        routes = ROUTES.format() if self.registered else UNAVAILABLE
        blocks = [SERVER.format(listen=self.listen, tls="", routes=routes)]
        if self.certificate is not None and self.tls_listen is not None:
            folder = self.folder / "tls"
            folder.mkdir(exist_ok=True)
            (folder / "certificate.pem").write_bytes(self.certificate[0])
            (folder / "key.pem").write_bytes(self.certificate[1])
            (folder / "key.pem").chmod(0o600)
            blocks.append(SERVER.format(listen=f"{self.tls_listen} ssl", tls=TLS.format(folder=self.folder),
                                        routes=routes))
        (self.folder / "nginx.conf").write_text(CONF.format(
            user=nginx_conf.workers_user(), folder=self.folder, servers=servers or NO_TARGET, workers=WORKERS,
            servers_blocks="".join(blocks), log_format=nginx_conf.LOG_FORMAT))

    def drain(self, timeout: float) -> None:
        """Until nginx's workers from before its last reload have ended (they end once the requests they hold
        are answered), or `timeout`: from then on every request is routed by the current targets."""
        deadline = time.monotonic() + timeout
        while self.process is not None and self.process.poll() is None and time.monotonic() < deadline:
            if _children(self.process.pid) <= WORKERS:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None


def _children(pid: int) -> int:
    """How many processes `pid` has (from /proc's stat files: the parent is the field after the name)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        count += fields[1] == str(pid)
    return count
