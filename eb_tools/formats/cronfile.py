"""The `cron.yaml` format, parsed once for `check` (problems by line) and the local cron leader (tasks).

A worker environment's cron.yaml says `version: 1` and lists tasks, each with a
unique name, a url the worker app serves (starting with '/') and a five-field
schedule (`eb_tools.formats.cron`).
Source: EB developer guide, "Periodic tasks" in "Elastic Beanstalk worker environments".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from eb_tools.formats import yamlines
from eb_tools.formats.cron import CronError, Schedule
from eb_tools.formats.problems import Problem
from eb_tools.formats.yamlines import LineDict, LineList

NAME = "cron.yaml"
Kind = Literal["syntax", "structure", "schedule", "url", "duplicate"]


@dataclass(frozen=True)
class CronTask:
    name: str
    url: str
    schedule: Schedule
    line: int = 0


@dataclass
class CronFile:
    tasks: list[CronTask] = field(default_factory=list)  # the valid ones
    problems: list[Problem[Kind]] = field(default_factory=list)


def parse(text: str) -> CronFile:
    result = CronFile()
    try:
        data = yamlines.load(text)
    except yaml.YAMLError as error:
        result.problems.append(Problem(yamlines.error_line(error), "syntax", "YAML syntax error",
                                       "fix the YAML on that line"))
        return result
    if not isinstance(data, LineDict) or str(data.get("version")) != "1":
        line = data.line_of("version") if isinstance(data, LineDict) else 1
        result.problems.append(Problem(line, "structure", "cron.yaml must say version: 1", "add version: 1 at the top"))
        return result
    tasks = data.get("cron")
    if not isinstance(tasks, LineList):
        result.problems.append(Problem(data.line_of("cron"), "structure", "cron must be a list of tasks",
                                       "list tasks as - name/url/schedule entries"))
        return result
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if not isinstance(task, LineDict) or not {"name", "url", "schedule"} <= set(task):
            result.problems.append(Problem(tasks.line_of(index), "structure", "each task needs name, url and schedule",
                                           "add the missing keys"))
            continue
        _task(task, seen, result)
    return result


def _task(task: LineDict, seen: dict[str, int], result: CronFile) -> None:
    name, url, problems = str(task["name"]), str(task["url"]), len(result.problems)
    if name in seen:
        result.problems.append(Problem(task.line_of("name"), "duplicate",
                                       f"task name {name!r} is already used on line {seen[name]}",
                                       "give every task its own name"))
    seen.setdefault(name, task.line_of("name"))
    if not url.startswith("/"):
        result.problems.append(Problem(task.line_of("url"), "url", f"url {url!r} must start with '/'",
                                       "write the path the worker app serves, e.g. /periodic/" + name))
    try:
        schedule = Schedule.parse(str(task["schedule"]))
    except CronError as problem:
        result.problems.append(Problem(task.line_of("schedule"), "schedule",
                                       f"schedule {task['schedule']!r}: {problem}",
                                       "use five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'"))
        return
    if len(result.problems) == problems:
        result.tasks.append(CronTask(name, url, schedule, task.line_of("name")))


def load(path: Path) -> CronFile:
    """The tasks of `path`; an absent file has none (a worker needs no cron.yaml)."""
    if not path.is_file():
        return CronFile()
    return parse(path.read_text(encoding="utf-8", errors="replace"))
