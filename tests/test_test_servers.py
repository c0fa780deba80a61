"""The real servers tests and `eb_tools local` start, on machines as users have them."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from eb_tools import nginx_conf
from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from tests.servers import MariaDBServer

ROOT = Path(__file__).resolve().parent.parent
AS_ROOT = os.geteuid() == 0


def _can_hide_hosts_file() -> bool:
    """Whether this process may make a mount and UTS namespace: root with CAP_SYS_ADMIN, where `/` is a mount
    point. Not in a chroot ("cannot change root filesystem propagation") nor in most containers."""
    if not (AS_ROOT and shutil.which("unshare")):
        return False
    probe = subprocess.run(["unshare", "--mount", "--uts", "true"], capture_output=True)
    return probe.returncode == 0


def test_mariadb_installs_where_no_host_name_resolves(tmp_path):
    """The local database must not need name resolution. Where namespaces are allowed: a root with an empty
    /etc/hosts and a host name nothing knows, where a lookup fails the install. Elsewhere (a chroot, a
    container without CAP_SYS_ADMIN: `localhost` cannot be hidden there) the install runs with a `uname`
    first on PATH that names a host nothing resolves, and must not even try the lookup mariadb-install-db
    makes of its own host (which warns, "could not be looked up", unless it is told not to need it)."""
    server = MariaDBServer(tmp_path / "db")
    (tmp_path / "db" / "data").mkdir(parents=True)
    unknown = f"no-such-host-{os.getpid()}.invalid"
    if _can_hide_hosts_file():
        empty_hosts = tmp_path / "hosts"
        empty_hosts.write_text("")
        isolated = ["unshare", "--mount", "--uts", "sh", "-c",
                    f'mount --bind {empty_hosts} /etc/hosts && hostname {unknown} && exec "$@"', "sh"]
        done = subprocess.run([*isolated, *server.install_command()], capture_output=True, text=True)
    else:
        fake = tmp_path / "bin"
        fake.mkdir()
        uname = shutil.which("uname")
        (fake / "uname").write_text(f'#!/bin/sh\n[ "$1" = "-n" ] && {{ echo {unknown}; exit 0; }}\nexec {uname} "$@"\n')
        (fake / "uname").chmod(0o755)
        done = subprocess.run(server.install_command(), capture_output=True, text=True,
                              env={**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"})
        assert "looked up" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "db" / "data" / "mysql").is_dir()


def test_nginx_buffers_large_bodies_in_a_private_data_folder(tmp_path):
    """As root, nginx's workers drop privileges: its temporary files must still be writable."""
    nginx = nginx_conf.binary()
    if nginx is None:
        pytest.skip("nginx is not installed; make test installs it")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    received: list[int] = []

    @Request.application
    def upstream_app(request: Request) -> Response:
        received.append(len(request.get_data()))
        return Response("ok")

    upstream = make_server("127.0.0.1", free_port(), upstream_app, threaded=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    prefix, port = private / "nginx", free_port()
    nginx_conf.prepare(prefix, ROOT, [], f"127.0.0.1:{port}", f"127.0.0.1:{upstream.server_port}")
    process = subprocess.Popen([nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                               stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), 15, "nginx listening")
        body = os.urandom(200_000)  # over client_body_buffer_size: nginx writes it to a temporary file
        response = requests.post(f"http://127.0.0.1:{port}/upload", data=body, timeout=10)
        assert response.status_code == 200, (response.status_code, (prefix / "error.log").read_text())
        assert received[-1] == len(body)
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
