"""nginx snippets under `.platform/nginx/`: `nginx -t` inside an EB-like nginx.conf.

The generated nginx.conf mirrors the Amazon Linux 2023 Python platform's: the
http-level `conf.d/*.conf` include and the server-level
`conf.d/elasticbeanstalk/*.conf` include, next to EB's own proxy location.
A bundle's `.platform/nginx/nginx.conf` replaces it, as on EB.
Source: EB developer guide, "Configuring the reverse proxy" (nginx).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding

RULES = {"E601": "nginx rejects the configuration", "N601": "nginx not installed: snippets not tested"}
PREFIX = ".platform/nginx/"
ERROR = re.compile(r"\[emerg\] (?P<message>.+?) in (?P<file>\S+?):(?P<line>\d+)\s*$", re.M)

EB_NGINX_CONF = """\
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_processes auto;
events {{ worker_connections 1024; }}
http {{
    server_tokens off;
    include {mime};
    default_type application/octet-stream;
    access_log off;
    include conf.d/*.conf;
    map $http_upgrade $connection_upgrade {{ default "upgrade"; }}
    server {{
        listen 127.0.0.1:8080 default_server;
        client_header_timeout 60;
        client_body_timeout 60;
        keepalive_timeout 60;
        include conf.d/elasticbeanstalk/*.conf;
    }}
}}
"""
EB_APPLICATION_CONF = """\
location / {
    proxy_pass          http://127.0.0.1:8000;
    proxy_http_version  1.1;
    proxy_set_header    Connection          $connection_upgrade;
    proxy_set_header    Upgrade             $http_upgrade;
    proxy_set_header    Host                $host;
    proxy_set_header    X-Real-IP           $remote_addr;
    proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def check(context: CheckContext) -> Iterator[Finding]:
    snippets = [p for p in context.matching(PREFIX) if p.endswith(".conf")]
    if not snippets:
        return
    binary = nginx_binary()
    if binary is None:
        yield Finding(PREFIX, None, "N601", "nginx is not installed, so the snippets were not tested",
                      "install nginx (make test does) and run check again", severity="notice")
        return
    with tempfile.TemporaryDirectory(prefix="eb-check-nginx-") as tmp:
        prefix = Path(tmp)
        (prefix / "conf.d" / "elasticbeanstalk").mkdir(parents=True)
        (prefix / "conf.d" / "elasticbeanstalk" / "00_application.conf").write_text(EB_APPLICATION_CONF)
        mime = Path("/etc/nginx/mime.types")
        (prefix / "mime.types").write_text(mime.read_text() if mime.exists() else "types { text/html html; }\n")
        (prefix / "nginx.conf").write_text(EB_NGINX_CONF.format(tmp=tmp, mime=prefix / "mime.types"))
        copies: dict[str, str] = {}
        for snippet in snippets:
            target = prefix / snippet[len(PREFIX):]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(context.root / snippet, target)
            copies[str(target)] = snippet
        result = subprocess.run([binary, "-t", "-q", "-p", f"{tmp}/", "-c", str(prefix / "nginx.conf"),
                                 "-e", f"{tmp}/error.log"], capture_output=True, text=True, timeout=30)
    if result.returncode == 0:
        return
    match = ERROR.search(result.stderr)
    if match:
        file = copies.get(match["file"], match["file"].replace(f"{tmp}/", PREFIX))
        yield Finding(file, int(match["line"]), "E601", f"nginx: {match['message']}",
                      "fix the directive on that line (nginx -t passes when it is right)")
    else:
        first = result.stderr.strip().splitlines()[0] if result.stderr.strip() else f"exit {result.returncode}"
        yield Finding(PREFIX, None, "E601", f"nginx -t failed: {first}", "run nginx -t on the snippets to see why")
