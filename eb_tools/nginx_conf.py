"""An nginx prefix laid out as on an Elastic Beanstalk Amazon Linux 2023 instance.

The generated nginx.conf mirrors the platform's: the http-level `conf.d/*.conf`
include and the server-level `conf.d/elasticbeanstalk/*.conf` include, next to
EB's own proxy location to the app on port 8000 (here: any upstream). The
bundle's `.platform/nginx/` files are copied over it, so a bundle's own
nginx.conf replaces the generated one, as on EB. Used by `eb_tools check`
(`nginx -t`), by `eb_tools local` (nginx in front of the web app) and by the
emulated cloud's instances (eb_tools/cloud/instances), whose nginx sees the
prefix at /etc/nginx and logs to /var/log/nginx as on an instance.
"""
from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

BUNDLE_DIR = ".platform/nginx/"

# EB's `main` format, plus the request's length (line, headers and body) last: what the e2e tests read to prove
# no upload's bytes went through the web tier (tests/e2e/test_browser_uploads.py). The load balancer's too.
LOG_FORMAT = """\
    log_format main '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_length';"""
NGINX_CONF = """\
{user}pid {prefix}/nginx.pid;
error_log {logs}/error.log warn;
worker_processes 2;
events {{ worker_connections 1024; }}
http {{
    server_tokens off;
    include {prefix}/mime.types;
    default_type application/octet-stream;
{log_format}
    access_log {logs}/access.log main;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    include conf.d/*.conf;
    map $http_upgrade $connection_upgrade {{ default "upgrade"; }}
    server {{
        listen {listen} default_server;
        client_header_timeout 60;
        client_body_timeout 60;
        keepalive_timeout 60;
        include conf.d/elasticbeanstalk/*.conf;
    }}
}}
"""
APPLICATION_CONF = """\
location / {{
    proxy_pass          http://{upstream};
    proxy_http_version  1.1;
    proxy_set_header    Connection          $connection_upgrade;
    proxy_set_header    Upgrade             $http_upgrade;
    proxy_set_header    Host                $host;
    proxy_set_header    X-Real-IP           $remote_addr;
    proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
}}
"""


def binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def workers_user() -> str:
    """Started as root, nginx's workers would drop to `nobody`, who cannot write temporary files
    (request bodies over the buffer) inside a private data folder: keep them as the invoking user."""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""


def prepare(prefix: Path, root: Path, files: list[str], listen: str, upstream: str, *, seen_at: Path | None = None,
            logs: Path | None = None, user: str | None = None) -> dict[str, str]:
    """Lay out the prefix; return {copied path: bundle path} to map nginx's errors back. nginx finds the prefix at
    `seen_at` (an instance's /etc/nginx; default: where it is written), writes its logs to `logs` (default: the
    prefix) and runs its workers as `user` (default: see workers_user)."""
    (prefix / "conf.d" / "elasticbeanstalk").mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(exist_ok=True)
    (prefix / "conf.d" / "elasticbeanstalk" / "00_application.conf").write_text(
        APPLICATION_CONF.format(upstream=upstream))
    mime = Path("/etc/nginx/mime.types")
    (prefix / "mime.types").write_text(mime.read_text() if mime.exists() else "types { text/html html; }\n")
    seen = seen_at or prefix
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(
        prefix=seen, logs=logs or seen, listen=listen, user=f"user {user};\n" if user else workers_user(),
        log_format=LOG_FORMAT))
    copies: dict[str, str] = {}
    for path in files:
        if path.startswith(BUNDLE_DIR) and path.endswith(".conf"):
            target = prefix / path[len(BUNDLE_DIR):]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / path, target)
            copies[str(target)] = path
    return copies
