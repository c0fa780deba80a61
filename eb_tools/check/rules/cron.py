"""`cron.yaml`: version 1, unique names, URLs starting with '/', five-field cron schedules.

Source: EB developer guide, "Periodic tasks" in "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools import cronfile
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding

RULES = {"E301": "cron.yaml structure", "E302": "bad cron schedule", "E303": "bad task url",
         "E304": "duplicate task name"}
FILE = cronfile.NAME
RULE_OF: dict[cronfile.Kind, str] = {"syntax": "E001", "structure": "E301", "schedule": "E302", "url": "E303",
                                     "duplicate": "E304"}


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        return
    for problem in cronfile.parse(context.text(FILE)).problems:
        yield Finding(FILE, problem.line, RULE_OF[problem.kind], problem.message, problem.fix)
