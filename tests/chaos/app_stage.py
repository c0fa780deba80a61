"""The apps as a stage runs them, for the faults scenarios: the Procfile's gunicorn with a stage's environment,
and logged-in browsers (requests sessions) that log in through the real form."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert
from werkzeug.security import generate_password_hash

from core.models import User
from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
PASSWORD = "correct horse battery staple"


def stage_env(database_url: str, redis_url: str, aws_endpoint_url: str, data_dir: Path,
              **extra: str) -> dict[str, str]:
    """The environment properties of a test stage served over plain HTTP on 127.0.0.1."""
    return {
        "APP_ROLE": "web", "STAGE": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "AWS_ENDPOINT_URL": aws_endpoint_url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "SECRET_KEY": "chaos-secret-key", "LOCAL_DATA_DIR": str(data_dir),
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP here: a Secure cookie would never come back
        "TRUSTED_PROXIES": "0", "LOG_LEVEL": "WARNING", **extra,
    }


class Gunicorn:
    """One app under the Procfile's gunicorn (2 workers, 4 threads each), its output in a log file."""

    def __init__(self, env: Mapping[str, str], log: Path, role: str = "web", workers: int = 2) -> None:
        self.port = free_port()
        self.log = log
        self.env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **env,
                    "APP_ROLE": role, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": str(workers),
                    "GUNICORN_LOG_LEVEL": "warning"}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--access-logfile", "/dev/null",
                 "wsgi:application"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

        def answering() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answering, 60, f"gunicorn answering on {self.port}", interval=0.1)
        return self

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


def csrf_token(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10)
    match = TOKEN.search(page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {url} ({page.status_code})")
    return match.group(1)


def logged_in_browser(base_url: str, database_url: str) -> tuple[requests.Session, str]:
    """A browser logged in to a new account through the real form; returns it and its CSRF token for API calls.

    The account is written into the database as sign-up and its mailed link leave it (verified): these stages
    have no worker to mail the link, and the scenarios are about faults under load (tests/test_signup.py
    proves the sign-up itself)."""
    email = f"chaos-{uuid.uuid4().hex[:12]}@example.com"
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(User).values(email=email, password_hash=generate_password_hash(PASSWORD),
                                             email_verified=True))
    finally:
        engine.dispose()
    browser = requests.Session()
    token = csrf_token(browser, f"{base_url}/login")
    response = browser.post(f"{base_url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    if response.status_code != 302:
        raise RuntimeError(f"log-in answered {response.status_code}: {response.text[:300]}")
    return browser, csrf_token(browser, f"{base_url}/uploads")
