"""`.ebextensions/*.config`: YAML syntax, sections, option settings and their values, files and commands.

Source: EB developer guide, "Advanced environment customization with configuration
files (.ebextensions)", "Option settings", "Configuration options", and
"Customizing software on Linux servers" / "... on Windows servers".
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import yaml

from eb_tools.check.context import STAGE_FILE, CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import option_schema as schema
from eb_tools.formats import option_settings, yamlines
from eb_tools.formats.yamlines import LineDict

E001 = Rule("E001", "YAML syntax", f"{GUIDE}ebextensions.html")
E101 = Rule("E101", "unknown top-level section", f"{GUIDE}ebextensions.html")
E102 = Rule("E102", "unknown option namespace", f"{GUIDE}command-options.html")
E103 = Rule("E103", "unknown option in a known namespace", f"{GUIDE}command-options-general.html")
E104 = Rule("E104", "option value of the wrong type or out of range", f"{GUIDE}command-options-general.html")
E105 = Rule("E105", "tier-specific option in a bundle that goes to web and worker environments",
            f"{GUIDE}using-features-managing-env-tiers.html")
W105 = Rule("W105", "tier-specific option: right only while the bundle goes to environments of one tier",
            f"{GUIDE}using-features-managing-env-tiers.html")
E106 = Rule("E106", "malformed option_settings", f"{GUIDE}ebextensions-optionsettings.html")
E110 = Rule("E110", "malformed files entry", f"{GUIDE}customize-containers-ec2.html#linux-files")
W110 = Rule("W110", "file mode that YAML reads as a number", f"{GUIDE}customize-containers-ec2.html#linux-files")
E111 = Rule("E111", "malformed commands entry", f"{GUIDE}customize-containers-ec2.html#linux-commands")
E112 = Rule("E112", "malformed container_commands entry",
            f"{GUIDE}customize-containers-ec2.html#linux-container-commands")
RULES = (E001, E101, E102, E103, E104, E105, W105, E106, E110, W110, E111, E112)

# The sections EB reads; Parameters, Mappings, Conditions and Outputs join Resources in the
# environment's CloudFormation template.
SECTIONS = ["option_settings", "packages", "groups", "users", "sources", "files", "commands",
            "services", "container_commands", "Resources", "Parameters", "Outputs", "Mappings", "Conditions"]
FILE_KEYS = ["content", "source", "encoding", "group", "owner", "mode", "authentication"]
# waitAfterCompletion: Windows platforms (seconds, or "forever": wait for a reboot).
COMMAND_KEYS = ["command", "env", "cwd", "test", "ignoreErrors", "waitAfterCompletion"]
CONTAINER_COMMAND_KEYS = [*COMMAND_KEYS, "leader_only"]
OCTAL = re.compile(r"^[0-7]{1,6}$")  # cfn-init reads the mode with int(mode, 8)
ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[\\/])")  # Linux, or a Windows drive (C:\ or C:/)
MODE_TEXT = re.compile(r"\bmode\s*:\s*([^\s#]+)")
TIER_FIX = "set it per tier with `eb_tools provision` (the stage file), not in the shared bundle"


@dataclass(frozen=True)
class Source:
    """One configuration file: its path, its lines (for what YAML does not keep) and the app's tiers."""

    path: str
    lines: list[str]
    both_tiers: bool

    def raw(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.ebextensions:
        data = context.parsed(path)
        if isinstance(data, yaml.YAMLError):
            problem = getattr(data, "problem", None) or str(data).splitlines()[0]
            yield Finding(path, yamlines.error_line(data), E001, f"YAML syntax error: {problem}",
                          "fix the indentation or quoting on that line")
            continue
        if data is None:
            continue
        if not isinstance(data, LineDict):
            yield Finding(path, 1, E001, "a configuration file must be a YAML mapping of sections",
                          "start with a section such as option_settings:")
            continue
        yield from _sections(Source(path, context.text(path).splitlines(), context.both_tiers), data)


def _sections(source: Source, data: LineDict) -> Iterator[Finding]:
    for section, body in data.items():
        line = data.line_of(section)
        if section not in SECTIONS:
            yield Finding(source.path, line, E101,
                          f"unknown section {section!r}{schema.did_you_mean(str(section), SECTIONS)}",
                          f"use one of {', '.join(SECTIONS)}")
        elif section == "option_settings":
            yield from _option_settings(source, body, line)
        elif section == "files":
            yield from _entries(source, body, line, E110, FILE_KEYS, _file_entry)
        elif section == "commands":
            yield from _entries(source, body, line, E111, COMMAND_KEYS, _command_entry)
        elif section == "container_commands":
            yield from _entries(source, body, line, E112, CONTAINER_COMMAND_KEYS, _command_entry)


def _option_settings(source: Source, body: object, line: int) -> Iterator[Finding]:
    """Every form EB reads (formats.option_settings): its problems, then each setting against the schema."""
    parsed = option_settings.parse(body, line)
    for problem in parsed.problems:
        yield Finding(source.path, problem.line, E106, problem.message, problem.fix)
    for setting in parsed.settings:
        yield from _option(source, setting)


def _option(source: Source, setting: option_settings.Setting) -> Iterator[Finding]:
    namespace, option, line = setting.namespace, setting.option, setting.line
    problem = schema.check_option(namespace, option, setting.value)
    if problem is not None and problem.kind == "tier" and problem.spec is not None:
        yield _tier_finding(source, problem.spec, namespace, option, line)
        # and the setting itself, as an environment of the namespace's tier would judge it
        problem = schema.check_option(namespace, option, setting.value, problem.spec.tier or "web")
    if problem is None:
        return
    path, spec = source.path, problem.spec
    if spec is None:
        hint = schema.did_you_mean(namespace, list(schema.namespaces()))
        yield Finding(path, setting.namespace_line, E102, f"unknown namespace {namespace!r}{hint}",
                      "use a namespace from the EB configuration options reference")
    elif problem.kind == "option":
        hint = schema.did_you_mean(option, list(spec.options))
        yield Finding(path, line, E103, f"unknown option {option!r} in {namespace}{hint}",
                      f"options of this namespace: see {spec.source}")
    elif spec.free_form:
        yield Finding(path, line, E104, f"{namespace} {option}: {problem.detail}", "quote the value")
    else:
        yield Finding(path, setting.value_line, E104, f"{namespace} {option}: {problem.detail}",
                      f"expected {spec.options[option]} ({spec.source})")


def _tier_finding(source: Source, spec: schema.Namespace, namespace: str, option: str, line: int | None) -> Finding:
    """An error when the stage file says the bundle goes to both tiers; a warning otherwise."""
    if spec.tier:
        other = "worker" if spec.tier == "web" else "web"
        reason = f"the namespace exists only in {spec.tier} environments"
    else:
        other, reason = "", "it is chosen per environment when the environment is created"
    if source.both_tiers:
        consequence = f"; deploying the bundle to the {other} environment fails" if other else ""
        return Finding(source.path, line, E105,
                       f"{namespace} {option} is tier-specific: {reason}{consequence} ({STAGE_FILE}: every "
                       "stage has a web and a worker environment)", TIER_FIX)
    scope = (f"only to {spec.tier} environments, a failed deployment if it also goes to a {other} one" if other
             else "to environments of one tier, a failed deployment if it goes to both")
    return Finding(source.path, line, W105, f"{namespace} {option} is tier-specific: {reason}; fine while this "
                                            f"bundle goes {scope}",
                   "keep it if the bundle has one tier; otherwise set it per environment")


EntryCheck = Callable[[Source, Rule, str, LineDict, int], Iterator[Finding]]


def _entries(source: Source, body: object, line: int | None, rule: Rule, keys: Sequence[str],
             validate: EntryCheck) -> Iterator[Finding]:
    path = source.path
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
                              f"{name}: unknown key {key!r}{schema.did_you_mean(str(key), keys)}",
                              f"use {', '.join(keys)}")
        yield from validate(source, rule, str(name), entry, entry_line)


def _file_entry(source: Source, rule: Rule, name: str, entry: LineDict, line: int) -> Iterator[Finding]:
    path = source.path
    if not ABSOLUTE.match(name):
        yield Finding(path, line, rule, f"{name}: a file path must be absolute",
                      "start it with / (Linux) or a drive such as C:\\\\ (Windows)")
    if ("content" in entry) == ("source" in entry):
        yield Finding(path, line, rule, f"{name}: give exactly one of content and source", "remove one")
    if "mode" in entry:
        yield from _mode(source, name, entry["mode"], entry.line_of("mode"))
    if entry.get("encoding", "plain") not in ("plain", "base64"):
        yield Finding(path, entry.line_of("encoding"), rule, f"{name}: encoding must be plain or base64",
                      "use plain or base64")


def _mode(source: Source, name: str, mode: object, line: int) -> Iterator[Finding]:
    """A quoted string of octal digits, as cfn-init reads it. EB converts the YAML as YAML 1.1 does: an
    unquoted 0644 is the number 420, which cfn-init then reads as mode 0420 (awsdocs/elastic-beanstalk-samples#74)."""
    fix = 'quote it, e.g. mode: "000644"'
    if isinstance(mode, str):
        if not OCTAL.match(mode):
            yield Finding(source.path, line, E110, f"{name}: mode {mode!r} is not an octal mode such as 000644", fix)
        return
    written = MODE_TEXT.search(source.raw(line))
    literal = written.group(1) if written else str(mode)
    applied = str(mode)  # what reaches cfn-init
    if isinstance(mode, bool) or not isinstance(mode, int) or not OCTAL.match(applied):
        yield Finding(source.path, line, E110, f"{name}: mode {literal} reaches cfn-init as {applied!r}, "
                                               "which is not an octal mode", fix)
    elif literal != applied:
        yield Finding(source.path, line, W110, f"{name}: unquoted mode {literal} is the number {applied} in YAML, "
                                               f"so the file gets mode {applied.zfill(4)}, not {literal}", fix)


def _command_entry(source: Source, rule: Rule, name: str, entry: LineDict, line: int) -> Iterator[Finding]:
    path = source.path
    if not isinstance(entry.get("command"), (str, list)):
        yield Finding(path, line, rule, f"{name}: command is missing or not a string/list",
                      "add command: your shell command")
    for flag in ("ignoreErrors", "leader_only"):
        if flag in entry and str(entry[flag]).lower() not in ("true", "false"):
            yield Finding(path, entry.line_of(flag), rule, f"{name}: {flag} must be true or false", "use true or false")
    wait = entry.get("waitAfterCompletion")
    if "waitAfterCompletion" in entry and not (str(wait).isdigit() or str(wait) == "forever"):
        yield Finding(path, entry.line_of("waitAfterCompletion"), rule,
                      f"{name}: waitAfterCompletion must be a number of seconds or forever", "e.g. 0")
