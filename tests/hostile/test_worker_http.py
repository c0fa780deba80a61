"""Hostile requests to the worker as sqsd reaches it on an instance: over HTTP, to the Procfile's gunicorn.

What the test client cannot show: a chunked body without a length, headers gunicorn itself
refuses, a client that lies about the length. The README's answers hold there too.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from eb_tools.formats import procfile
from tests.sqsd_client import sqsd_headers
from worker.sqsd import MAX_MESSAGE_BYTES

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def worker_url(env, make_app) -> Iterator[str]:
    make_app(APP_ROLE="worker")  # the schema, as the predeploy hook makes it
    port = free_port()
    argv = procfile.load(ROOT).command("web")
    proc = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **env,
                                 "APP_ROLE": "worker", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"})
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "gunicorn exited"
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # refused, or (a loaded machine) the first answer slower than 2 s
            return False

    try:
        wait_until(up, 30, "the worker under gunicorn")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def chunks(total: int, size: int = 65536) -> Iterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def test_hostile_requests_over_http_get_the_documented_answers(worker_url):
    deep = requests.post(worker_url, data="[" * 30_000 + "]" * 30_000, headers=sqsd_headers(), timeout=30)
    assert deep.status_code == 200 and deep.json() == {"status": "rejected",
                                                       "reason": "bad envelope: body is nested too deeply"}
    oversize = requests.post(worker_url, data=b"x" * (MAX_MESSAGE_BYTES + 1), headers=sqsd_headers(), timeout=30)
    assert oversize.status_code == 413 and oversize.json()["error"]
    chunked = requests.post(worker_url, data=chunks(MAX_MESSAGE_BYTES + 1), headers=sqsd_headers(), timeout=30)
    assert chunked.status_code == 413 and chunked.json()["error"]
    small_chunked = requests.post(worker_url, data=chunks(100), headers=sqsd_headers(), timeout=30)
    assert small_chunked.status_code == 200 and small_chunked.json()["status"] == "rejected"
    impostor = requests.post(worker_url, data="{}", timeout=30,
                             headers={**sqsd_headers(), "User-Agent": "aws-sqsd-not-really/0"})
    assert impostor.status_code == 403 and impostor.json()["error"]
    ill_typed = json.dumps({"v": 1, "task": "image.variants", "args": {"upload_id": 10**30},
                            "idempotency_key": "hostile-http", "enqueued_at": "x", "trace_id": "t"})
    rejected = requests.post(worker_url, data=ill_typed, headers=sqsd_headers(), timeout=30)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert "upload_id must be a whole number from 1 to 2147483647" in rejected.json()["reason"]


def test_a_client_that_lies_about_the_length_is_not_a_500(worker_url):
    host, port = worker_url.removeprefix("http://").split(":")
    headers = "".join(f"{name}: {value}\r\n" for name, value in sqsd_headers().items())
    for length, body in (("10", b"x" * 3), ("-1", b"{}"), ("99999999999999999999", b"{}"), ("abc", b"{}")):
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(f"POST / HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {length}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            conn.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1]) if answer else 0
        assert status and status < 500, (length, answer[:200])


class _Outputs(dict[str, str]):
    """A stage stack's outputs: every output named by itself."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def test_nothing_outside_the_instance_reaches_the_worker():
    """What protects the worker is the network: its instances get only the stage's worker group (not EB's
    default group, which admits HTTP from the internet where there is no load balancer), and that group
    admits nothing. sqsd posts to the app on localhost."""
    from eb_tools import stage_file as stages
    from eb_tools.provision import stage_template
    from eb_tools.stage.desired import desired_settings

    file = stages.load(ROOT / "eb_tools.yaml")
    for name in file.stages:
        settings = dict(((namespace, option), value) for namespace, option, value in
                        desired_settings(file.stage(name), "worker", _Outputs()))
        launch = "aws:autoscaling:launchconfiguration"
        assert settings[(launch, "DisableDefaultEC2SecurityGroup")] == "true", name
        assert settings[(launch, "SecurityGroups")] == "<WorkerSecurityGroup>", name
        resources = stage_template(file, name)["Resources"]
        assert "SecurityGroupIngress" not in resources["WorkerSecurityGroup"]["Properties"], name
        assert not [r for r in resources.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                    and r["Properties"]["GroupId"] == {"Fn::GetAtt": ["WorkerSecurityGroup", "GroupId"]}], name
