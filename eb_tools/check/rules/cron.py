"""`cron.yaml`: version 1, unique names, URLs starting with '/', five-field cron schedules.

Source: EB developer guide, "Periodic tasks" in "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import cronfile

SOURCE = f"{GUIDE}using-features-managing-env-tiers.html#worker-periodictasks"
RULE_OF: dict[cronfile.Kind, Rule] = {
    "syntax": Rule("E300", "cron.yaml YAML syntax", SOURCE),
    "structure": Rule("E301", "cron.yaml structure", SOURCE),
    "schedule": Rule("E302", "bad cron schedule", SOURCE),
    "url": Rule("E303", "bad task url", SOURCE),
    "duplicate": Rule("E304", "duplicate task name", SOURCE),
}
RULES = tuple(RULE_OF.values())
FILE = cronfile.NAME


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        return
    for problem in cronfile.parse(context.text(FILE)).problems:
        yield Finding(FILE, problem.line, RULE_OF[problem.kind], problem.message, problem.fix)
