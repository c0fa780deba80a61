"""nginx snippets under `.platform/nginx/`: `nginx -t` inside an EB-like nginx.conf.

The layout is eb_tools/nginx_conf.py's, shared with `eb_tools local`.
Source: EB developer guide, "Configuring the reverse proxy" (nginx).
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eb_tools import nginx_conf
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

SOURCE = f"{GUIDE}platforms-linux-extend.proxy.html"
E601 = Rule("E601", "nginx rejects the configuration", SOURCE)
N601 = Rule("N601", "nginx not installed: snippets not tested", SOURCE)
RULES = (E601, N601)
PREFIX = nginx_conf.BUNDLE_DIR
ERROR = re.compile(r"\[emerg\] (?P<message>.+?) in (?P<file>\S+?):(?P<line>\d+)\s*$", re.M)


def check(context: CheckContext) -> Iterator[Finding]:
    snippets = [p for p in context.matching(PREFIX) if p.endswith(".conf")]
    if not snippets:
        return
    binary = nginx_conf.binary()
    if binary is None:
        yield Finding(PREFIX, None, N601, "nginx is not installed, so the snippets were not tested",
                      "install nginx (make test does) and run check again")
        return
    with tempfile.TemporaryDirectory(prefix="eb-check-nginx-") as tmp:
        prefix = Path(tmp)
        copies = nginx_conf.prepare(prefix, context.root, snippets, "127.0.0.1:8080", "127.0.0.1:8000")
        result = subprocess.run([binary, "-t", "-q", "-p", f"{tmp}/", "-c", str(prefix / "nginx.conf"),
                                 "-e", f"{tmp}/error.log"], capture_output=True, text=True, timeout=30)
    if result.returncode == 0:
        return
    match = ERROR.search(result.stderr)
    if match:
        file = copies.get(match["file"], match["file"].replace(f"{tmp}/", PREFIX))
        yield Finding(file, int(match["line"]), E601, f"nginx: {match['message']}",
                      "fix the directive on that line (nginx -t passes when it is right)")
    else:
        first = result.stderr.strip().splitlines()[0] if result.stderr.strip() else f"exit {result.returncode}"
        yield Finding(PREFIX, None, E601, f"nginx -t failed: {first}", "run nginx -t on the snippets to see why")
