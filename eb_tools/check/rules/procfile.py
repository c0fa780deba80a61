"""`Procfile`: well-formed `name: command` lines and a `web:` process.

Source: EB developer guide, "Configuring the WSGI server with a Procfile".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import procfile

SOURCE = f"{GUIDE}python-configuration-procfile.html"
E401 = Rule("E401", "malformed Procfile line", SOURCE)
E402 = Rule("E402", "no web process", SOURCE)
E403 = Rule("E403", "duplicate process", SOURCE)
RULES = (E401, E402, E403)
FILE = procfile.NAME
WEB_EXAMPLE = "add 'web: gunicorn --config gunicorn.conf.py wsgi:application'"


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        yield Finding(FILE, None, E402, "no Procfile: the platform would guess the WSGI entry point", WEB_EXAMPLE)
        return
    parsed = procfile.parse(context.text(FILE))
    findings = [Finding(FILE, line, E401, f"{text!r} is not 'name: command'",
                        "write one process per line as name: command") for line, text in parsed.malformed]
    findings += [Finding(FILE, repeat.line, E403, f"process {repeat.name!r} is already defined on line {first}",
                         "keep one line per process name") for repeat, first in parsed.duplicates]
    yield from sorted(findings)  # in line order
    if "web" not in parsed.processes:
        yield Finding(FILE, 1, E402, "no 'web:' process: EB routes traffic and sqsd to the web process", WEB_EXAMPLE)
