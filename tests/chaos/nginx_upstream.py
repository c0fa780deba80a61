"""nginx as the load balancer's stand-in: the bundle's nginx config in front of an upstream of web processes.

The layout is an instance's (eb_tools/nginx_conf.py with the bundle's .platform/nginx files); the one
addition is the upstream of several gunicorns, where on AWS the ALB spreads requests over instances.
Failover is passive, as an ALB's is between health checks: a connection refused or cut is an error
(`proxy_next_upstream error timeout`), the request goes to the next server when it is idempotent (nginx
never resends a POST whose body reached the dead server), and the failing server is left out for
`fail_timeout` after `max_fails` such errors. Documented in nginx's ngx_http_upstream_module
(`server ... max_fails fail_timeout`) and ngx_http_proxy_module (`proxy_next_upstream`).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from eb_tools import nginx_conf
from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_FILES = [".platform/nginx/conf.d/10_app.conf"]
UPSTREAM = "web_instances"
FAIL_TIMEOUT = 10  # seconds a failed server is left out before nginx tries it again
UPSTREAM_CONF = """\
# The load balancer's stand-in: every web process, passive failover (tests/chaos/nginx_upstream.py).
upstream {name} {{
{servers}
}}
proxy_next_upstream error timeout;
proxy_next_upstream_tries 2;
proxy_next_upstream_timeout 5s;
"""
# Which server answered each request ("a, b" when nginx moved it to b): the scenarios count from it.
UPSTREAM_LOG = """\
log_format upstreams '$msec $status $upstream_addr';
access_log {prefix}/upstreams.log upstreams;
"""
# nginx answering by itself, with no app behind: what a load generator reaches at most (benchmarks).
FIXED_ANSWER = """\
server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok"; }}
}}
"""


class Nginx:
    def __init__(self, prefix: Path, upstreams: list[str], log_upstreams: bool = True,
                 answer_itself: bool = False) -> None:
        self.prefix = prefix
        self.upstreams = upstreams  # host:port of each gunicorn
        self.port = free_port()
        self.log_upstreams = log_upstreams  # a second access log: off when measuring speed
        self.fixed_port = free_port(exclude=frozenset({self.port})) if answer_itself else None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        binary = nginx_conf.binary()
        if binary is None:
            raise RuntimeError("nginx is not installed; `make test` installs it (as root) via apt-get")
        nginx_conf.prepare(self.prefix, ROOT, BUNDLE_FILES, f"127.0.0.1:{self.port}", UPSTREAM)
        servers = "\n".join(f"    server {address} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;"
                            for address in self.upstreams)
        conf = UPSTREAM_CONF.format(name=UPSTREAM, servers=servers)
        if self.log_upstreams:
            conf += UPSTREAM_LOG.format(prefix=self.prefix)
        if self.fixed_port:
            conf += FIXED_ANSWER.format(port=self.fixed_port)
        (self.prefix / "conf.d" / "00_upstream.conf").write_text(conf)
        self.process = subprocess.Popen(
            [binary, "-p", f"{self.prefix}/", "-c", str(self.prefix / "nginx.conf"), "-e",
             str(self.prefix / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answering() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}; see {self.prefix}/error.log")
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code < 500  # any app answer
            except requests.RequestException:
                return False

        wait_until(answering, 30, f"nginx answering on {self.port}", interval=0.1)
        return self

    def upstream_log(self) -> list[tuple[float, int, list[str]]]:
        """(time, status, the servers tried in order) of every request nginx has logged so far."""
        entries = []
        for line in (self.prefix / "upstreams.log").read_text().splitlines():
            msec, status, addresses = line.split(" ", 2)
            entries.append((float(msec), int(status), [a.strip() for a in addresses.split(",")]))
        return entries

    def stop(self) -> None:
        stop_process(self.process)
