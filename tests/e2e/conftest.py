"""One `eb_tools local` for the module, and headless Debian Chromium driven by Playwright.

Chromium is Debian's (scripts/system-deps.sh installs it): Playwright never downloads a
browser here. Every page collects its console errors and uncaught exceptions; a test
fails on any it did not declare as the expected trace of a refusal it provokes.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright  # the dev extra (pip install -e '.[dev]')

from eb_tools.aws import wait_until
from eb_tools.cloud.server import free_port
from tests.cloud_clients import local_client
from tests.local_stage import stage_outputs, stage_query, tier_masters, wait_for
from tests.mail import verification_link

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOOPBACK = ("127.0.0.1", "localhost")  # the page may reach nothing else: an image URL elsewhere fails the test
CDN_LINE = re.compile(r"^cdn:\s+(\S+)\s+\(CloudFront stand-in for (\S+)\)")
PASSWORD = "e2e browser pass 7"
# One step of an emulated EB operation: shorter than eb_tools local's default second, since what a test waits
# for is the instances' own work; the rolling deployments of the release and rotation tests take a third less.
EB_SECONDS = "0.3"


@dataclass
class LocalRun:
    """A running `eb_tools local`: its addresses as printed, its data folder and clients of its cloud."""

    base: str
    cloud: str
    data_dir: Path
    output: list[str]
    uploads_bucket: str = ""
    s3: Any = None
    pid: int = 0

    def printed(self, prefix: str) -> str | None:
        return next((line for line in self.output if line.startswith(prefix)), None)

    @property
    def cdn(self) -> str:
        """The CDN base URL the run printed (the CloudFront stand-in); the test fails without one."""
        line = self.printed("cdn:")
        match = CDN_LINE.match(line or "")
        assert match, "eb_tools local printed no CDN line ('cdn: <url>   (CloudFront stand-in for <id>)'):\n" + \
            "\n".join(self.output[-20:])
        return match.group(1)

    def query(self, sql: str, *args: object) -> list[tuple]:
        """Rows of the stage's database (its MariaDB writer, at the stack's endpoint, as the apps connect)."""
        return stage_query(self.cloud, sql, *args)

    def keys(self, prefix: str) -> dict[str, int]:
        """The uploads bucket's keys under prefix, with their sizes."""
        listed = self.s3.list_objects_v2(Bucket=self.uploads_bucket, Prefix=prefix)
        return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}

    def gunicorn_masters(self) -> dict[int, dict[str, str]]:
        """{pid: environment} of every gunicorn master the run's instances started."""
        return tier_masters(self.pid)

    def access_log(self) -> list[str]:
        """The web environment's load balancer's access log: every request to the web tier."""
        log = self.data_dir / "instances" / "balancers" / "oppima-local-web" / "access.log"
        return log.read_text().splitlines()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    """`eb_tools local` on free ports and a fresh data folder, as `make up` runs it; Ctrl-C at the end."""
    with running_local(ROOT, tmp_path_factory.mktemp("e2e") / "state") as run:
        yield run


@contextmanager
def running_local(root: Path, data_dir: Path, *options: str) -> Iterator[LocalRun]:
    """`eb_tools local` of the repository at `root` on free ports, until Ctrl-C when the block ends."""
    port, cloud_port = free_port(), free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "eb_tools"), "local", "--eb-seconds", EB_SECONDS,
                             "--root", str(root), "--port", str(port), "--cloud-port", str(cloud_port),
                             "--data-dir", str(data_dir), *options],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = LocalRun(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{cloud_port}", data_dir, [], pid=proc.pid)
    reader = threading.Thread(target=lambda: run.output.extend(line.rstrip("\n") for line in proc.stdout or ()),
                              daemon=True)
    reader.start()
    try:
        wait_for(f"{run.base}/healthz", proc, timeout=90)
        wait_until(lambda: run.printed("web app:") is not None, 30, "eb_tools local's start-up lines")
        run.uploads_bucket = stage_outputs(run.cloud)["UploadsBucket"]
        run.s3 = local_client("s3", run.cloud)
        yield run
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            reader.join(timeout=5)
            print("\n".join(run.output))  # shown by pytest when a test fails


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """Playwright, once per module: it runs one driver per thread, which every browser of the module shares."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (as root) to install Debian's chromium")
    with sync_playwright() as started:
        yield started


def chromium(driver: Any, profile: Path, reachable: tuple[str, ...], *args: str,
             env: dict[str, str] | None = None) -> Any:
    """Debian's Chromium, headless, with a fresh profile: no downloads, no background traffic, and no request
    to any host but `reachable`."""
    context = driver.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), headless=True,
                                                        args=[*CHROMIUM_ARGS, *args], env=env)
    context.set_default_timeout(20_000)
    context.route(lambda url: urlsplit(url).hostname not in reachable, lambda route: route.abort("blockedbyclient"))
    return context


@pytest.fixture(scope="module")
def browser(driver: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    context = chromium(driver, tmp_path_factory.mktemp("chromium-profile"), LOOPBACK)
    yield context
    context.close()


@dataclass
class Watched:
    """A page with its console errors and uncaught exceptions; `allow` declares the expected ones."""

    page: Any
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, *patterns: str) -> None:
        self.allowed.extend(re.compile(p) for p in patterns)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    page = browser.new_page()
    watched = Watched(page)
    page.on("console", lambda message: message.type == "error" and watched.errors.append(
        f"console: {message.text} ({message.location.get('url', '')})"))
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    yield watched
    page.close()
    assert not watched.unexpected(), "the page logged errors:\n" + "\n".join(watched.unexpected())


def sign_up(page: Any, run: LocalRun, email: str) -> None:
    """Sign up through the page and follow the link the worker mailed through the local SES, as a user does."""
    submit_credentials(page, f"{run.base}/signup", email, lands_on="Check your mail")
    page.goto(verification_link(run.cloud, email))
    page.wait_for_selector("h1:text('Your images')")


def log_in(page: Any, base: str, email: str) -> None:
    submit_credentials(page, f"{base}/login", email)


def submit_credentials(page: Any, form: str, email: str, lands_on: str = "Your images") -> None:
    """Fill the account form at `form` (sign-up and log-in share it) and land on the page headed `lands_on`."""
    page.goto(form)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(f"h1:text('{lands_on}')")


@pytest.fixture(scope="module")
def web_host(local_run: LocalRun) -> str:
    """The web environment's own address, <cname>.<region>.elasticbeanstalk.com, as a stage without a domain
    is served in AWS."""
    eb = local_client("elasticbeanstalk", local_run.cloud)
    found = eb.describe_environments(EnvironmentNames=["oppima-local-web"], IncludeDeleted=False)["Environments"]
    return str(found[0]["CNAME"])


@pytest.fixture(scope="module")
def named_browser(driver: Any, tmp_path_factory: pytest.TempPathFactory, web_host: str) -> Iterator[Any]:
    """Chromium that resolves the web environment's EB address to this machine: a real-looking host name,
    which browsers do not treat as secure as they treat 127.0.0.1 and localhost (a Secure cookie set over
    http there is dropped)."""
    context = chromium(driver, tmp_path_factory.mktemp("chromium-named"), (*LOOPBACK, web_host),
                       f"--host-resolver-rules=MAP {web_host} 127.0.0.1")
    yield context
    context.close()


ACCOUNT_EMAIL = "browser@example.com"


@pytest.fixture(scope="module")
def account(local_run: LocalRun, browser: Any) -> int:
    """Signed up through the page and the mailed link, once for the module (the browser profile keeps the
    session); the user id."""
    page = browser.new_page()
    sign_up(page, local_run, ACCOUNT_EMAIL)
    page.close()
    return local_run.query("SELECT id FROM users WHERE email = %s", ACCOUNT_EMAIL)[0][0]
