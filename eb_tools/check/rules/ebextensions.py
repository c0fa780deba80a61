"""`.ebextensions/*.config`: YAML syntax, sections, option settings and their values.

Source: EB developer guide, "Advanced environment customization with configuration
files (.ebextensions)" and "Configuration options".
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence

import yaml

from eb_tools.check import schema, yamlines
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding
from eb_tools.check.yamlines import LineDict, LineList

RULES = {
    "E001": "YAML syntax",
    "E101": "unknown top-level section",
    "E102": "unknown option namespace",
    "E103": "unknown option in a known namespace",
    "E104": "option value of the wrong type or out of range",
    "E105": "tier-specific option in .ebextensions, which both tiers share",
    "E106": "malformed option_settings",
    "E110": "malformed files entry",
    "E111": "malformed commands entry",
    "E112": "malformed container_commands entry",
}
SECTIONS = ["option_settings", "packages", "groups", "users", "sources", "files", "commands",
            "services", "container_commands", "Resources", "Outputs", "Mappings", "Conditions"]
FILE_KEYS = ["content", "source", "encoding", "group", "owner", "mode", "authentication"]
COMMAND_KEYS = ["command", "env", "cwd", "test", "ignoreErrors"]
CONTAINER_COMMAND_KEYS = [*COMMAND_KEYS, "leader_only"]
MODE = re.compile(r"^[0-7]{6}$")
TIER_FIX = "set it per tier with `eb_tools provision` (the stage file), not in the shared bundle"


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.ebextensions:
        data = context.parsed(path)
        if isinstance(data, yaml.YAMLError):
            problem = getattr(data, "problem", None) or str(data).splitlines()[0]
            yield Finding(path, yamlines.error_line(data), "E001", f"YAML syntax error: {problem}",
                          "fix the indentation or quoting on that line")
            continue
        if data is None:
            continue
        if not isinstance(data, LineDict):
            yield Finding(path, 1, "E001", "a configuration file must be a YAML mapping of sections",
                          "start with a section such as option_settings:")
            continue
        yield from _sections(path, data)


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _sections(path: str, data: LineDict) -> Iterator[Finding]:
    for section, body in data.items():
        line = data.line_of(section)
        if section not in SECTIONS:
            yield Finding(path, line, "E101", f"unknown section {section!r}{_did_you_mean(str(section), SECTIONS)}",
                          f"use one of {', '.join(SECTIONS)}")
        elif section == "option_settings":
            yield from _option_settings(path, body, line)
        elif section == "files":
            yield from _entries(path, body, line, "E110", FILE_KEYS, _file_entry)
        elif section == "commands":
            yield from _entries(path, body, line, "E111", COMMAND_KEYS, _command_entry)
        elif section == "container_commands":
            yield from _entries(path, body, line, "E112", CONTAINER_COMMAND_KEYS, _command_entry)


def _option_settings(path: str, body: object, line: int) -> Iterator[Finding]:
    """Both forms: {namespace: {option: value}} and [{namespace, option_name, value}]."""
    if isinstance(body, LineDict):
        for namespace, options in body.items():
            ns_line = body.line_of(namespace)
            if not isinstance(options, LineDict):
                yield Finding(path, ns_line, "E106", f"options of {namespace} must be a mapping of name: value",
                              "indent the options under the namespace")
                continue
            for option, value in options.items():
                yield from _option(path, str(namespace), ns_line, str(option), value, options.line_of(option))
    elif isinstance(body, LineList):
        for index, item in enumerate(body):
            item_line = body.line_of(index)
            if not isinstance(item, LineDict) or not {"namespace", "option_name"} <= set(item):
                yield Finding(path, item_line, "E106", "each list item needs namespace, option_name and value",
                              "write - namespace: ...\\n    option_name: ...\\n    value: ...")
                continue
            yield from _option(path, str(item["namespace"]), item.line_of("namespace"), str(item["option_name"]),
                               item.get("value"), item.line_of("option_name"), item.line_of("value"))
    else:
        yield Finding(path, line, "E106", "option_settings must be a mapping or a list",
                      "write namespace: {option: value} pairs under option_settings")


def _option(path: str, namespace: str, ns_line: int, option: str, value: object, line: int,
            value_line: int | None = None) -> Iterator[Finding]:
    problem = schema.check_option(namespace, option, value)
    if problem is None:
        return
    spec = problem.spec
    if spec is None:
        hint = _did_you_mean(namespace, list(schema.namespaces()))
        yield Finding(path, ns_line, "E102", f"unknown namespace {namespace!r}{hint}",
                      "use a namespace from the EB configuration options reference")
    elif problem.kind == "tier":
        reason = (f"the namespace exists only in {spec.tier} environments" if spec.tier
                  else "it is chosen per tier when an environment is created")
        consequence = "; deploying the bundle to the worker fails" if spec.tier == "web" else ""
        yield Finding(path, line, "E105", f"{namespace} {option} is tier-specific: {reason}{consequence}", TIER_FIX)
    elif problem.kind == "option":
        hint = _did_you_mean(option, list(spec.options))
        yield Finding(path, line, "E103", f"unknown option {option!r} in {namespace}{hint}",
                      f"options of this namespace: see {spec.source}")
    elif spec.free_form:
        yield Finding(path, line, "E104", f"{namespace} {option}: {problem.detail}", "quote the value")
    else:
        yield Finding(path, value_line or line, "E104", f"{namespace} {option}: {problem.detail}",
                      f"expected {spec.options[option]} ({spec.source})")


EntryCheck = Callable[[str, str, str, LineDict, int], Iterator[Finding]]


def _entries(path: str, body: object, line: int | None, rule: str, keys: Sequence[str],
             validate: EntryCheck) -> Iterator[Finding]:
    if not isinstance(body, LineDict):
        yield Finding(path, line, rule, "this section must be a mapping of name: settings", "see the EB guide")
        return
    for name, entry in body.items():
        entry_line = body.line_of(name)
        if not isinstance(entry, LineDict):
            yield Finding(path, entry_line, rule, f"{name}: settings must be a mapping", "indent its keys under it")
            continue
        for key in entry:
            if key not in keys:
                yield Finding(path, entry.line_of(key), rule,
                              f"{name}: unknown key {key!r}{_did_you_mean(str(key), keys)}",
                              f"use {', '.join(keys)}")
        yield from validate(path, rule, str(name), entry, entry_line)


def _file_entry(path: str, rule: str, name: str, entry: LineDict, line: int) -> Iterator[Finding]:
    if not name.startswith("/"):
        yield Finding(path, line, rule, f"{name}: a file path must be absolute", "start it with /")
    if ("content" in entry) == ("source" in entry):
        yield Finding(path, line, rule, f"{name}: give exactly one of content and source", "remove one")
    mode = entry.get("mode")
    if mode is not None and not MODE.match(str(mode)):
        yield Finding(path, entry.line_of("mode"), rule, f"{name}: mode {mode!r} is not six octal digits",
                      'quote it, e.g. mode: "000755"')
    if entry.get("encoding", "plain") not in ("plain", "base64"):
        yield Finding(path, entry.line_of("encoding"), rule, f"{name}: encoding must be plain or base64",
                      "use plain or base64")


def _command_entry(path: str, rule: str, name: str, entry: LineDict, line: int) -> Iterator[Finding]:
    if not isinstance(entry.get("command"), (str, list)):
        yield Finding(path, line, rule, f"{name}: command is missing or not a string/list",
                      "add command: your shell command")
    for flag in ("ignoreErrors", "leader_only"):
        if flag in entry and str(entry[flag]).lower() not in ("true", "false"):
            yield Finding(path, entry.line_of(flag), rule, f"{name}: {flag} must be true or false", "use true or false")
