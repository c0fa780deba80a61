"""`cron.yaml`: version 1, unique names, URLs starting with '/', five-field cron schedules.

Source: EB developer guide, "Periodic tasks" in "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

from typing import Iterator

import yaml

from eb_tools.check import yamlines
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding
from eb_tools.check.yamlines import LineDict, LineList
from eb_tools.cron import CronError, Schedule

RULES = {"E301": "cron.yaml structure", "E302": "bad cron schedule", "E303": "bad task url",
         "E304": "duplicate task name"}
FILE = "cron.yaml"


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        return
    data = context.parsed(FILE)
    if isinstance(data, yaml.YAMLError):
        yield Finding(FILE, yamlines.error_line(data), "E001", "YAML syntax error", "fix the YAML on that line")
        return
    if not isinstance(data, LineDict) or str(data.get("version")) != "1":
        line = data.line_of("version") if isinstance(data, LineDict) else 1
        yield Finding(FILE, line, "E301", "cron.yaml must say version: 1", "add version: 1 at the top")
        return
    tasks = data.get("cron")
    if not isinstance(tasks, LineList):
        yield Finding(FILE, data.line_of("cron"), "E301", "cron must be a list of tasks",
                      "list tasks as - name/url/schedule entries")
        return
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        line = tasks.line_of(index)
        if not isinstance(task, LineDict) or not {"name", "url", "schedule"} <= set(task):
            yield Finding(FILE, line, "E301", "each task needs name, url and schedule", "add the missing keys")
            continue
        name = str(task["name"])
        if name in seen:
            yield Finding(FILE, task.line_of("name"), "E304", f"task name {name!r} is already used on line {seen[name]}",
                          "give every task its own name")
        seen.setdefault(name, task.line_of("name"))
        if not str(task["url"]).startswith("/"):
            yield Finding(FILE, task.line_of("url"), "E303", f"url {task['url']!r} must start with '/'",
                          "write the path the worker app serves, e.g. /periodic/" + name)
        try:
            Schedule.parse(str(task["schedule"]))
        except CronError as problem:
            yield Finding(FILE, task.line_of("schedule"), "E302", f"schedule {task['schedule']!r}: {problem}",
                          "use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'")

