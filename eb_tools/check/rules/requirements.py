"""`requirements.txt`: present, and free of packages that only developers need.

Source: EB developer guide, "Specifying dependencies using a requirements file".
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

SOURCE = f"{GUIDE}python-configuration-requirements.html"
E701 = Rule("E701", "no requirements.txt", SOURCE)
E702 = Rule("E702", "development-only package in requirements.txt", SOURCE)
RULES = (E701, E702)
FILE = "requirements.txt"
DEV_ONLY = {"awsebcli", "moto", "pytest", "cfn-lint", "checkov", "mypy", "ruff", "black", "flake8", "pylint",
            "coverage", "tox", "nox", "pre-commit", "ipdb", "ipython", "eb-tools", "hypothesis", "responses"}
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        yield Finding(FILE, None, E701, "no requirements.txt: EB installs nothing for the app",
                      "add requirements.txt with the runtime packages")
        return
    for number, line in enumerate(context.text(FILE).splitlines(), start=1):
        match = NAME.match(line.split("#", 1)[0])
        if not match:
            continue
        name = re.sub(r"[._]+", "-", match.group(1)).lower()
        if name in DEV_ONLY or name.startswith("pytest-"):
            yield Finding(FILE, number, E702, f"{match.group(1)} is a development tool, installed on every instance",
                          "move it to the dev extra in pyproject.toml")
