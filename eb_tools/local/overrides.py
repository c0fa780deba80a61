"""The one list of what a local process gets beyond its EB environment.

A tier's processes get their environment's properties and `environmentsecrets` (loaded as the platform loads
them), what any process on an instance has from its operating system (PLATFORM), and these overrides, each
because this machine is not AWS; nothing else (tests/test_local_up.py reads a running process's environment
and fails on any other name). The README's local-stage section lists them. One setting of the local cloud
differs from a new AWS account too: it is out of SES's sandbox (run.py), since sign-up mails whatever address
someone types in.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

# What an instance's operating system gives every process (the platform sets PATH to its venv first; the
# shell that starts a process sets PWD and OLDPWD).
PLATFORM = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PATH", "PWD", "OLDPWD")

# Every override, with why it differs from AWS.
WHY = {
    "AWS_ENDPOINT_URL": "the local cloud's endpoint, where AWS's regional endpoints would be",
    "AWS_ACCESS_KEY_ID": "the local cloud's credentials, where an instance profile's would be",
    "AWS_SECRET_ACCESS_KEY": "the local cloud's credentials, where an instance profile's would be",
    "CDN_URL": "the CloudFront stand-in serving the stage's distribution, where https://<its domain> would be",
    "SSL_CERT_FILE": "the local cloud's CA, which the data servers' certificates chain to (AWS's chain to a "
                     "public CA the instance trusts)",
    "GUNICORN_WORKERS": "2 processes per tier, where gunicorn.conf.py sizes them by the instance's cores",
    "PORT": "a free port of this machine per emulated instance (eb_tools/cloud/instances), where the app of "
            "every instance listens on 8000, the platform's default; its nginx proxies to it and get-config "
            "gives it to hooks, as EB does when the PORT property is set",
}


def platform() -> dict[str, str]:
    """The operating system's share, from this process's environment, with the toolkit's venv first on PATH."""
    found = {name: os.environ[name] for name in PLATFORM if name in os.environ}
    found["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return found


def services(cloud_url: str, cdn_url: str, trusted_ca: Path | None) -> dict[str, str]:
    """The overrides that point a process at the local cloud instead of AWS."""
    return {"AWS_ENDPOINT_URL": cloud_url, "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY, "CDN_URL": cdn_url,
            **({"SSL_CERT_FILE": str(trusted_ca)} if trusted_ca else {})}


def for_instances(cloud_url: str, cdn_url: str, trusted_ca: Path | None) -> dict[str, str]:
    """Everything a local instance's processes get beyond their environment's properties and secrets."""
    return {**platform(), **services(cloud_url, cdn_url, trusted_ca), "GUNICORN_WORKERS": "2"}
