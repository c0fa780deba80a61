"""`Procfile`: well-formed `name: command` lines and a `web:` process.

Source: EB developer guide, "Configuring the WSGI server with a Procfile".
"""
from __future__ import annotations

import re
from typing import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding

RULES = {"E401": "malformed Procfile line", "E402": "no web process", "E403": "duplicate process"}
FILE = "Procfile"
LINE = re.compile(r"^([A-Za-z0-9_]+):\s*(\S.*)$")


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        yield Finding(FILE, None, "E402", "no Procfile: the platform would guess the WSGI entry point",
                      "add 'web: gunicorn --config gunicorn.conf.py wsgi:application'")
        return
    names: dict[str, int] = {}
    for number, line in enumerate(context.text(FILE).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.match(line.strip())
        if not match:
            yield Finding(FILE, number, "E401", f"{line.strip()!r} is not 'name: command'",
                          "write one process per line as name: command")
            continue
        name = match.group(1)
        if name in names:
            yield Finding(FILE, number, "E403", f"process {name!r} is already defined on line {names[name]}",
                          "keep one line per process name")
        names.setdefault(name, number)
    if "web" not in names:
        yield Finding(FILE, 1, "E402", "no 'web:' process: EB routes traffic and sqsd to the web process",
                      "add 'web: gunicorn --config gunicorn.conf.py wsgi:application'")
