"""Discover the rule modules under rules/ and run each over a bundle, isolated from the others.

A rule that crashes (a bug in eb_tools, or a file no rule expected) becomes one
finding naming the rule module and the file it was reading; the findings it made
before the crash are kept and the other rules still run.
"""
from __future__ import annotations

import importlib
import pkgutil
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType

from eb_tools import archive as bundle_archive
from eb_tools.check import rules as rules_package
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding, Rule
from eb_tools.errors import BundleError

CRASHED = Rule("E900", "a check crashed", "")


@cache
def rule_modules() -> tuple[ModuleType, ...]:
    """Every module in rules/ with a `check(context)` function and its RULES, in name order."""
    modules = [
        importlib.import_module(f"{rules_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(rules_package.__path__)
    ]
    return tuple(sorted((m for m in modules if hasattr(m, "check")), key=lambda m: m.__name__))


def _isolated(module: ModuleType, context: CheckContext) -> Iterable[Finding]:
    name = module.__name__.rsplit(".", 1)[-1]
    context.reading = None
    try:
        yield from module.check(context)
    except Exception as error:  # any crash of a rule is reported as a finding, never raised
        where = context.reading or "."
        yield Finding(where, None, CRASHED, f"the {name} check crashed on {where}: {type(error).__name__}: {error}",
                      "report it to the eb_tools maintainers; the other checks ran")


def run(root: Path, modules: Iterable[ModuleType] | None = None) -> list[Finding]:
    context = CheckContext.for_path(root)
    findings: list[Finding] = []
    for module in rule_modules() if modules is None else modules:
        findings.extend(_isolated(module, context))
    return sorted(findings, key=lambda f: (f.file, f.line or 0, f.rule.id, f.message))


def run_archive(archive: Path) -> list[Finding]:
    """The findings of a built bundle (the zip `eb_tools bundle` writes), unpacked as EB unpacks it."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            bundle_archive.extract(archive.read_bytes(), Path(folder) / "bundle")
        except bundle_archive.ArchiveError as error:
            raise BundleError(f"{archive}: {error}") from None
        return run(Path(folder) / "bundle")
