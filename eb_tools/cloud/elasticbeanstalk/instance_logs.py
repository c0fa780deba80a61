"""What an instance uploads for RequestEnvironmentInfo: the tail of its log files, or all of them zipped.

EB's Python platform on Amazon Linux 2023 logs the Procfile's processes to /var/log/web.stdout.log, nginx
to /var/log/nginx/, the worker daemon to /var/log/aws-sqsd/default.log, and its own steps to
/var/log/eb-engine.log. The emulation runs no instance: an environment's log files are what it is told
(`publish`, e.g. by `eb_tools local` for the processes it runs, shown as the first instance's); every
other instance, and every environment nobody published for, has the platform's files, empty (the
emulation's choice: EB's would hold the platform's own lines). A tail is each file's last 100 lines under
EB's header (users' `eb logs` transcripts).
"""
from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path

TAIL_LINES = 100
RULE = "-" * 37
PLATFORM_FILES = {"WebServer": ["/var/log/eb-engine.log", "/var/log/web.stdout.log", "/var/log/nginx/access.log",
                                "/var/log/nginx/error.log"],
                  "Worker": ["/var/log/eb-engine.log", "/var/log/web.stdout.log", "/var/log/nginx/access.log",
                             "/var/log/nginx/error.log", "/var/log/aws-sqsd/default.log"]}
_published: dict[str, tuple[str, dict[str, Path]]] = {}  # environment -> (region, {path on an instance: file})
_lock = threading.Lock()


def publish(environment: str, files: Mapping[str, Path], region: str) -> None:
    """From now on, the logs of `environment` (in `region`) on its first instance are `files`:
    {path on an instance: the file on this machine}."""
    with _lock:
        _published[environment] = (region, dict(files))


def published() -> dict[str, tuple[str, dict[str, Path]]]:
    with _lock:
        return {environment: (region, dict(files)) for environment, (region, files) in _published.items()}


def _files(environment: str, tier: str, first: bool) -> dict[str, bytes]:
    with _lock:
        real = dict(_published.get(environment, ("", {}))[1]) if first else {}
    found = {path: b"" for path in PLATFORM_FILES[tier]}
    for path, local in real.items():
        try:
            found[path] = local.read_bytes()
        except OSError:
            found[path] = b""  # not written yet
    return found


def tail(environment: str, tier: str, first: bool) -> tuple[bytes, int]:
    """The tail an instance uploads, and how many logs it holds."""
    files = _files(environment, tier, first)
    parts = []
    for path, data in sorted(files.items()):
        lines = data.decode(errors="replace").splitlines()[-TAIL_LINES:]
        parts.append("\n".join([RULE, path, RULE, *lines, ""]))
    return "\n".join(parts).encode(), len(files)


def bundle(environment: str, tier: str, first: bool) -> tuple[bytes, int]:
    """The zip of every log file an instance uploads (paths without the leading /), and how many."""
    files = _files(environment, tier, first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(path.lstrip("/"), data)
    return out.getvalue(), len(files)
