"""How `eb_tools check` shows its findings: one line each, or JSON for CI; and its exit code.

Text: `file:line: RULE message. Fix: how` on stdout, one line per finding; on
stderr, the count and, once per rule seen, its short description and the page of
the EB documentation it enforces. JSON: a list of findings with the same fields,
the rule's metadata included. Only errors fail the check (exit 1); warnings and
notices alone exit 0.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from eb_tools.check.findings import Finding, Rule


def lines(findings: Sequence[Finding]) -> list[str]:
    return [finding.as_text() for finding in findings]


def footer(findings: Sequence[Finding], path: object) -> list[str]:
    """The count, then each rule seen with its short description and documentation."""
    counts = {severity: sum(1 for f in findings if f.severity == severity) for severity in ("error", "warning")}
    if counts["error"]:
        summary = f"{counts['error']} error(s), {counts['warning']} warning(s) in {path}"
    else:
        summary = f"{path}: bundle OK" + (f", {counts['warning']} warning(s)" if counts["warning"] else "")
    rules: list[Rule] = sorted({f.rule for f in findings})
    return [summary, *(f"  {r.id} {r.shortdesc}" + (f": {r.source_url}" if r.source_url else "") for r in rules)]


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps([finding.as_dict() for finding in findings], indent=2)


def exit_code(findings: Sequence[Finding]) -> int:
    return 1 if any(finding.fails for finding in findings) else 0
