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


@pytest.mark.skipif(not (AS_ROOT and shutil.which("unshare")), reason="needs root to hide the hosts file")
def test_mariadb_installs_where_no_host_name_resolves(tmp_path):
    """A minimal root with an empty /etc/hosts: the local database must not need name resolution."""
    empty_hosts = tmp_path / "hosts"
    empty_hosts.write_text("")
    server = MariaDBServer(tmp_path / "db")
    (tmp_path / "db" / "data").mkdir(parents=True)
    isolated = ["unshare", "--mount", "--uts", "sh", "-c",
                f'mount --bind {empty_hosts} /etc/hosts && hostname no-such-host-{os.getpid()} && exec "$@"', "sh"]
    done = subprocess.run([*isolated, *server.install_command()], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


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
