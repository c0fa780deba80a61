"""A stage with a domain, served over HTTPS (issue 25, item 6): the local stage given a domain, its load
balancer's HTTPS listener terminating TLS with the certificate the stage file names (issued by the local CA,
as ACM issues one for a proven domain), and Chromium trusting that CA as a browser trusts a public one.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eb_tools.cloud.server import free_port
from tests.e2e.conftest import LOOPBACK, ROOT, LocalRun, chromium, running_local, submit_credentials
from tests.e2e.test_browser_uploads import card, image_urls, noisy_jpeg, pick
from tests.mail import verification_link

DOMAIN = "app.oppima.test"  # .test: reserved, never a real site, and no secure context over http
CERTIFICATE = f"arn:aws:acm:us-east-1:123456789012:certificate/{uuid.UUID(int=25)}"
EMAIL = "https-user@example.com"


def with_domain(tmp: Path) -> Path:
    """This repository's files (tracked and new, as `eb_tools local` bundles the working tree), its local
    stage given a domain instead of plain_http."""
    root = tmp / "repo"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    stage_file = root / "eb_tools.yaml"
    data = yaml.safe_load(stage_file.read_text())
    local = data["stages"]["local"]
    local.pop("plain_http")
    local["domain"] = {"name": DOMAIN, "certificate_arn": CERTIFICATE}
    stage_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def https_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalRun, int]]:
    tmp = tmp_path_factory.mktemp("https")
    port = free_port()
    with running_local(with_domain(tmp), tmp / "state", "--https-port", str(port)) as run:
        yield run, port


def trusting(ca: Path, home: Path) -> dict[str, str]:
    """An environment whose HOME holds an NSS database trusting `ca`: where Chromium on Linux reads the
    certificate authorities a user added."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "eb_tools local CA", "-i", str(ca)],
                   check=True)
    return {**os.environ, "HOME": str(home)}


@pytest.fixture(scope="module")
def domain_browser(driver: Any, https_run: tuple[LocalRun, int], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Chromium resolving the domain to the HTTPS listener (port 443 as the browser sees it) and trusting the
    local CA, nothing else: a certificate error fails the page."""
    run, port = https_run
    printed = re.search(r"from the local CA (\S+):", run.printed("https:") or "")
    assert printed, "eb_tools local printed no HTTPS line naming its CA:\n" + "\n".join(run.output[-20:])
    ca = Path(printed.group(1))
    context = chromium(driver, tmp_path_factory.mktemp("chromium-https"), (*LOOPBACK, DOMAIN),
                       f"--host-resolver-rules=MAP {DOMAIN}:443 127.0.0.1:{port}",
                       env=trusting(ca, tmp_path_factory.mktemp("home")))
    yield context
    context.close()



def test_a_stage_with_a_domain_is_served_over_https(https_run, domain_browser):
    """Sign up, follow the mailed link, log out, log in and upload at https://<domain>, the session cookie
    Secure, the certificate the one ACM holds for the domain (a browser trusting only the local CA accepts it).
    """
    run, port = https_run
    site = f"https://{DOMAIN}"
    assert run.printed("https:") and f"https://{DOMAIN}:{port}" in run.printed("https:")
    page = domain_browser.new_page()
    submit_credentials(page, f"{site}/signup", EMAIL, lands_on="Check your mail")
    link = verification_link(run.cloud, EMAIL)
    assert link.startswith(f"{site}/verify/")  # the mail names the site as the browser reached it, port and all
    page.goto(link)
    page.wait_for_selector("h1:text('Your images')")
    session = [c for c in domain_browser.cookies(site) if c["name"] == "session"]
    assert session and session[0]["secure"] and session[0]["httpOnly"]
    page.click("form[action='/logout'] button")
    page.wait_for_selector("h1:text('Log in')")
    submit_credentials(page, f"{site}/login", EMAIL)
    pick(page, "harbour.jpg", "image/jpeg", noisy_jpeg(400, 300))
    page.wait_for_selector(card("harbour.jpg"), timeout=60_000)
    assert all(url.startswith(run.cdn + "/") for url in image_urls(page))
    page.close()
