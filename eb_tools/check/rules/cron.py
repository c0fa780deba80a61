"""`cron.yaml`: version 1, unique names, URLs starting with '/', five-field cron schedules.

Source: EB developer guide, "Periodic tasks" in "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

import re
from typing import Iterator

import yaml

from eb_tools.check import yamlines
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding
from eb_tools.check.yamlines import LineDict, LineList

RULES = {"E301": "cron.yaml structure", "E302": "bad cron schedule", "E303": "bad task url",
         "E304": "duplicate task name"}
FILE = "cron.yaml"
# (low, high, names) per field: minute, hour, day of month, month, day of week
FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}),
]
PART = re.compile(r"^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d+))?$")


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
        problem = schedule_error(str(task["schedule"]))
        if problem:
            yield Finding(FILE, task.line_of("schedule"), "E302", f"schedule {task['schedule']!r}: {problem}",
                          "use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'")


def schedule_error(schedule: str) -> str | None:
    fields = schedule.split()
    if len(fields) != 5:
        return f"has {len(fields)} fields, not 5"
    for text, (label, low, high, names) in zip(fields, FIELDS):
        for part in text.split(","):
            match = PART.match(part)
            if not match:
                return f"{label} field {text!r} is not valid"
            base, step = match.groups()
            if step is not None and int(step) == 0:
                return f"{label} step must be at least 1"
            if base == "*":
                continue
            bounds = base.split("-")
            values = []
            for bound in bounds:
                value = names.get(bound.upper()) if not bound.isdigit() else int(bound)
                if value is None or not low <= value <= high:
                    return f"{label} value {bound!r} is out of range {low}-{high}"
                values.append(value)
            if len(values) == 2 and values[0] > values[1]:
                return f"{label} range {base!r} runs backwards"
    return None
