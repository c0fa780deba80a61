"""`requirements.txt`: present, free of packages that only developers need, and a lock: every package at one
version with the hashes pip checks, generated from requirements.in when the bundle has one.

EB's Python platform runs `pip install -r requirements.txt` on every instance at every deployment and on every
instance autoscaling launches later: a range there is resolved anew each time, so production can run other
versions than the staging that was tested. With hashes, pip refuses a line without one ("hash-checking mode").
Sources: EB developer guide, "Specifying dependencies using a requirements file"; pip's user guide, "Secure
installs" (hash-checking mode).
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import requirements

SOURCE = f"{GUIDE}python-configuration-requirements.html"
E701 = Rule("E701", "no requirements.txt", SOURCE)
E702 = Rule("E702", "development-only package in requirements.txt", SOURCE)
W703 = Rule("W703", "requirement not pinned to one version", SOURCE)
E704 = Rule("E704", "requirement without a hash in a file that has hashes", SOURCE)
W705 = Rule("W705", "requirements without hashes", SOURCE)
E706 = Rule("E706", "requirements.txt out of date with requirements.in", SOURCE)
E707 = Rule("E707", "line pip cannot read", SOURCE)
RULES = (E701, E702, W703, E704, W705, E706, E707)
FILE = "requirements.txt"
SOURCE_FILE = "requirements.in"
LOCK_FIX = "run make lock (uv pip compile --generate-hashes requirements.in), which pins every package with hashes"
DEV_ONLY = {"awsebcli", "moto", "pytest", "cfn-lint", "checkov", "mypy", "ruff", "black", "flake8", "pylint",
            "coverage", "tox", "nox", "pre-commit", "ipdb", "ipython", "eb-tools", "hypothesis", "responses"}


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        yield Finding(FILE, None, E701, "no requirements.txt: EB installs nothing for the app",
                      "add requirements.txt with the runtime packages")
        return
    parsed = requirements.parse(context.text(FILE))
    for problem in parsed.problems:
        yield Finding(FILE, problem.line, E707, problem.message, problem.fix)
    yield from _development_tools(parsed)
    yield from _lock(parsed)
    if SOURCE_FILE in context.files:
        yield from _source(parsed, context.text(SOURCE_FILE))


def _development_tools(parsed: requirements.RequirementsFile) -> Iterator[Finding]:
    for item in parsed.requirements:
        if item.name in DEV_ONLY or item.name.startswith("pytest-"):
            yield Finding(FILE, item.line, E702, f"{item.name} is a development tool, installed on every instance",
                          "move it to the dev extra in pyproject.toml")


def _lock(parsed: requirements.RequirementsFile) -> Iterator[Finding]:
    hashed = any(item.hashes for item in parsed.requirements)
    for item in parsed.requirements:
        if item.exact is None:
            yield Finding(FILE, item.line, W703, f"{item.name}{item.specifier} allows more than one version: each "
                          "instance resolves it anew, so production may run what staging never tested", LOCK_FIX)
        if hashed and not item.hashes:
            yield Finding(FILE, item.line, E704, f"{item.name} has no --hash while other lines have: pip refuses "
                          "the whole file in hash-checking mode", LOCK_FIX)
    if parsed.requirements and not hashed:
        yield Finding(FILE, None, W705, "no requirement carries a --hash: pip installs whatever the index serves "
                      "under those versions", LOCK_FIX)


def _source(parsed: requirements.RequirementsFile, source: str) -> Iterator[Finding]:
    wanted = requirements.source_digest(source.splitlines())
    if parsed.source_digest != wanted:
        said = "records no source digest" if parsed.source_digest is None else "was made from another version of it"
        yield Finding(FILE, 1, E706, f"requirements.txt {said}: requirements.in changed since the lock was made",
                      "run make lock, and commit both files")
