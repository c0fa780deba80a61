"""Symbolic links: `eb_tools bundle` refuses them (a zip keeps the link, not the file), and a dangling
one points at nothing on the instance either.

Source: EB developer guide, "Create an application source bundle"; eb_tools/bundle.py.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

E802 = Rule("E802", "symbolic link in the bundle", f"{GUIDE}applications-sourcebundle.html")
RULES = (E802,)


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.links:
        target = os.readlink(context.root / path)
        state = "points at" if (context.root / path).exists() else "is dangling: it points at nothing, not even"
        yield Finding(path, None, E802, f"symbolic link that {state} {target!r}; eb_tools bundle refuses links",
                      "replace the link with the file it stands for, or add it to .ebignore")
