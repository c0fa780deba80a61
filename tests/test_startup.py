"""Start-up as Elastic Beanstalk does it: the Procfile's gunicorn, wsgi.py, APP_ROLE."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from core import recycling
from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from eb_tools.formats import procfile
from tests.servers import child_processes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile_web() -> list[str]:
    argv = procfile.load(ROOT).command("web")
    return [str(BIN / argv[0]), *argv[1:]]


def run_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **env, **extra}


def serve_procfile(env: dict[str, str], **extra: str) -> tuple[subprocess.Popen, str]:
    """The Procfile's gunicorn (one worker process unless GUNICORN_WORKERS says otherwise), once it answers."""
    port = free_port()
    proc = subprocess.Popen(procfile_web(), cwd=ROOT,
                            env=run_env(env, GUNICORN_BIND=f"127.0.0.1:{port}", **{"GUNICORN_WORKERS": "1", **extra}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def answered() -> bool:
        assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return True
        except requests.RequestException:  # refused, or (a loaded machine) the first answer slower than 2 s
            return False

    try:
        wait_until(answered, 30, "gunicorn answering")
    except BaseException:  # a gunicorn that never answered is stopped here: its callers stop only one that did
        proc.kill()
        proc.wait(timeout=30)
        raise
    return proc, base


@pytest.mark.parametrize("role", ["web", "worker"])
def test_procfile_serves_both_roles_under_gunicorn(env, role):
    proc, base = serve_procfile(env, APP_ROLE=role, GUNICORN_WORKERS="2")
    try:
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        login = requests.get(f"{base}/login", timeout=5)
        assert login.status_code == (200 if role == "web" else 403)  # the worker serves sqsd only
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DATABASE_URL", "postgres:/nope", "DATABASE_URL"),
        ("DATABASE_URL", "mysql+pymysql://user:hunter2@/missing-host", "DATABASE_URL"),
        ("APP_ROLE", "scheduler", "APP_ROLE"),
        ("UPLOAD_MAX_BYTES", "ten megs", "UPLOAD_MAX_BYTES"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL"),
    ],
)
def test_malformed_setting_stops_start_up_with_one_line(env, name, value, words):
    for argv in (procfile_web(), [sys.executable, "-c", "import wsgi"]):
        result = subprocess.run(argv, cwd=ROOT, env=run_env(env, **{name: value}, GUNICORN_BIND="127.0.0.1:0"),
                                capture_output=True, text=True, timeout=60)
        output = (result.stdout + result.stderr).strip()
        assert result.returncode != 0
        assert len(output.splitlines()) == 1, output
        assert output.startswith("config error: ") and words in output
        assert "Traceback" not in output and "hunter2" not in output


def test_production_stage_requires_a_secret_key_parameter(env):
    bare = {k: v for k, v in env.items() if k != "SECRET_KEY"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=run_env(bare, STAGE="production"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "config error: SECRET_KEY_PARAMETER: required when STAGE='production'; "
        "set it to the name of an SSM SecureString parameter"
    ]


def test_app_info_logs_are_json_lines_on_stdout_at_log_level(env):
    """An upload's or a task's INFO line must be written, as one JSON object (README, "Logs"): the platform writes
    the Procfile process's stdout to /var/log/web.stdout.log and streams it to CloudWatch; the AWS SDK's INFO
    lines are held back, and LOG_LEVEL=WARNING keeps the INFO ones out."""
    code = "import logging, wsgi; logging.getLogger('web.uploads').info('upload 7 completed'); " \
           "logging.getLogger('botocore.credentials').info('Found credentials')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=run_env(env), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in map(json.loads, result.stdout.splitlines()) if line["logger"] == "web.uploads"]
    assert {k: line[k] for k in ("level", "logger", "message", "tier", "instance")} == {
        "level": "INFO", "logger": "web.uploads", "message": "upload 7 completed", "tier": "web", "instance": None}
    assert "Found credentials" not in result.stdout + result.stderr
    quiet = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=run_env(env, LOG_LEVEL="WARNING"),
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and "upload 7 completed" not in quiet.stdout + quiet.stderr


def test_a_process_past_its_memory_bound_is_replaced_after_the_request(env):
    """GUNICORN_MAX_WORKER_MB: the request that found the process past its bound is answered in full, then the
    process exits and the master starts a fresh one; nothing is refused meanwhile."""
    proc, base = serve_procfile(env, GUNICORN_MAX_WORKER_MB="1", GUNICORN_LOG_LEVEL="info")

    def workers() -> set[int]:
        return set(child_processes(proc.pid))

    try:
        seen: set[int] = set()
        for _ in range(3):
            before = wait_until(lambda: workers() or None, 30, "a worker process")
            seen |= before
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
            wait_until(lambda before=before: workers() not in (set(), before), 30,
                       "the process past its bound replaced")
        assert len(seen) == 3
    finally:
        proc.terminate()
        _out, errors = proc.communicate(timeout=30)
    assert errors.count("past its bound of 1 MiB") >= 3


def test_a_process_within_its_memory_bound_keeps_serving(env):
    """By default a process may use its share of the instance's memory: the app's requests leave it in place
    (no recycling by count: a boot per N requests was a fifth of a no-op task's CPU)."""
    proc, base = serve_procfile(env)
    try:
        first = set(child_processes(proc.pid))
        with requests.Session() as client:
            for _ in range(300):
                assert client.get(f"{base}/healthz", timeout=10).status_code == 200
        assert set(child_processes(proc.pid)) == first
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_malformed_memory_bound_stops_start_up_with_one_line(env):
    result = subprocess.run(procfile_web(), cwd=ROOT, env=run_env(env, GUNICORN_MAX_WORKER_MB="1G",
                                                                   GUNICORN_BIND="127.0.0.1:0"),
                            capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0
    assert output.splitlines() == ["config error: GUNICORN_MAX_WORKER_MB: '1G' is not a whole number of MiB; "
                                   "set it to a process's memory bound, or 0 to never recycle"]


def test_the_default_memory_bound_is_each_process_share_of_the_instance(monkeypatch):
    total = recycling.instance_bytes()
    assert recycling.bound_bytes(5, {}) == max(recycling.DEFAULT_FLOOR, int(total * recycling.SHARE / 5))
    # a small instance's share stays above what an app process needs, or it would restart after every request
    monkeypatch.setattr(recycling, "instance_bytes", lambda: 1024 * recycling.MIB)
    assert recycling.bound_bytes(5, {}) == recycling.DEFAULT_FLOOR
    assert recycling.bound_bytes(2, {"GUNICORN_MAX_WORKER_MB": "300"}) == 300 * recycling.MIB
    assert recycling.bound_bytes(2, {"GUNICORN_MAX_WORKER_MB": "0"}) is None
