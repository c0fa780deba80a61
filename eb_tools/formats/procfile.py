"""The `Procfile` format, parsed once for `check` (what is wrong, on which line) and `local` (what to run).

Elastic Beanstalk reads one `name: command` per line; the `web` process is the
one that receives traffic (and sqsd's POSTs in a worker environment).
Source: EB developer guide, "Configuring the WSGI server with a Procfile".
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

NAME = "Procfile"
_LINE = re.compile(r"^([A-Za-z0-9_]+):\s*(\S.*)$")


@dataclass(frozen=True)
class Process:
    name: str
    command: str
    line: int

    def argv(self) -> list[str]:
        return shlex.split(self.command)


@dataclass
class Procfile:
    processes: dict[str, Process] = field(default_factory=dict)  # the first line of each name wins
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, text) not `name: command`
    duplicates: list[tuple[Process, int]] = field(default_factory=list)  # (repeat, line of the first)

    def command(self, name: str = "web") -> list[str]:
        """The argv of process `name`; ProcfileError when there is none."""
        if name not in self.processes:
            raise ProcfileError(f"{NAME}: no '{name}:' line; add one such as "
                                "'web: gunicorn --config gunicorn.conf.py wsgi:application'")
        return self.processes[name].argv()


class ProcfileError(ValueError):
    """The Procfile cannot give what was asked; the message says how to fix it."""


def parse(text: str) -> Procfile:
    result = Procfile()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            result.malformed.append((number, line))
            continue
        process = Process(match.group(1), match.group(2), number)
        if process.name in result.processes:
            result.duplicates.append((process, result.processes[process.name].line))
        else:
            result.processes[process.name] = process
    return result


def load(root: Path) -> Procfile:
    """The Procfile at the bundle root; ProcfileError when it is missing."""
    path = root / NAME
    if not path.is_file():
        raise ProcfileError(f"{path}: no Procfile; add 'web: gunicorn --config gunicorn.conf.py wsgi:application'")
    return parse(path.read_text(encoding="utf-8", errors="replace"))
