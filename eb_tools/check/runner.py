"""Discover the rule modules under rules/ and run them over a bundle."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from eb_tools.check import rules as rules_package
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding


def rule_modules() -> list[ModuleType]:
    """Every module in rules/ with a `check(context)` function, in name order."""
    modules = [
        importlib.import_module(f"{rules_package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(rules_package.__path__)
    ]
    return sorted((m for m in modules if hasattr(m, "check")), key=lambda m: m.__name__)


def run(root: Path) -> list[Finding]:
    context = CheckContext.for_path(root)
    findings: list[Finding] = []
    for module in rule_modules():
        findings.extend(module.check(context))
    return sorted(findings, key=lambda f: (f.file, f.line or 0, f.rule))
