"""The CloudFormation template EB would deploy from a bundle's configuration files, for cfn-lint.

EB adds every configuration file's Parameters, Mappings, Conditions, Resources and
Outputs to the environment's template, merged with its own resources: an entry
named after one of them (eb_resources.yaml) extends or overrides it. So the
template built here merges all the bundle's files, in the order EB applies them,
over stand-ins for EB's resources, and replaces Fn::GetOptionSetting (an EB
function) with a parameter whose default is the option's value in the bundle
(option_settings), else the DefaultValue given. EB also resolves functions in the
other sections (`files` content, option values in backticks such as
'`{"Ref": "MyQueue"}`'): each becomes an output here, so cfn-lint checks that what
it names exists and counts it as used. Every entry remembers the file and line it
came from, so a finding about the template points into the bundle.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from eb_tools.check.context import CheckContext
from eb_tools.formats import option_settings
from eb_tools.formats.yamlines import LineDict, LineList

SECTIONS = ("Parameters", "Mappings", "Conditions", "Resources", "Outputs")
EB_RESOURCES_FILE = Path(__file__).with_name("eb_resources.yaml")
EB_PREFIX = "AWSEB"  # EB names its resources and parameters so; any other, undocumented, is taken as it is
CUSTOM_OPTION = "aws:elasticbeanstalk:customoption"  # Fn::GetOptionSetting's default namespace
OPTION_PARAMETER = "OptionSetting"  # + the option's name: the parameter standing for Fn::GetOptionSetting
REFERENCE_OUTPUT = "EBReference"  # + a number: an output standing for a function used outside the template
SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)[.}]")
BACKTICKS = re.compile(r"`(\{.*?\})`", re.S)  # EB's syntax for a function inside a string


@dataclass(frozen=True)
class EBResource:
    name: str
    type: str
    tier: str | None
    properties: dict[str, Any]


@cache
def eb_resources() -> dict[str, EBResource]:
    data = yaml.safe_load(EB_RESOURCES_FILE.read_text())
    return {name: EBResource(name, spec["type"], spec.get("tier"), spec.get("properties") or {})
            for name, spec in data.items()}


@dataclass(frozen=True)
class Origin:
    """Where an entry of the template was written: a configuration file, the entry's line and YAML."""

    path: str
    line: int
    node: object


@dataclass
class Template:
    body: dict[str, Any]
    origins: dict[tuple[str, str], list[Origin]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # file -> the line of its first contribution
    stand_ins: set[str] = field(default_factory=set)  # EB's resources, as eb_tools stands them in
    missing: dict[str, tuple[str, str]] = field(default_factory=dict)  # EB resource -> (section, name) using it

    def locate(self, path: list[Any]) -> tuple[str, int] | None:
        """The file and line a cfn-lint path points at, or None for eb_tools' stand-ins."""
        if len(path) >= 2 and (path[0], path[1]) in self.origins:
            best: tuple[int, str, int] | None = None
            for origin in self.origins[(path[0], path[1])]:
                depth, line = _deepest(origin.node, path[2:])
                if best is None or depth >= best[0]:
                    best = (depth, origin.path, line if depth and line else origin.line)
            return (best[1], best[2]) if best else None
        if len(path) >= 2 and (path[0] in SECTIONS):
            return None  # EB's resources and the option-setting parameters are eb_tools' stand-ins
        return next(iter(self.files.items()), None)

    def describe(self, path: list[Any]) -> str:
        """A cfn-lint path in the bundle's words: the function EB resolves, for one outside the template."""
        if len(path) >= 2 and path[0] == "Outputs" and str(path[1]).startswith(REFERENCE_OUTPUT):
            return "the function EB resolves here"
        return "/".join(str(part) for part in path)

    def value(self, path: list[Any]) -> Any:
        """The part of the merged template a cfn-lint path points at (None when there is none)."""
        node: Any = self.body
        for key in path:
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]  # noqa: SIM114 - a list takes an index
            else:
                return None
        return node


def _deepest(node: object, rest: list[Any]) -> tuple[int, int | None]:
    """How far `rest` goes into the YAML node, and the line it reaches."""
    line = getattr(node, "line", None)
    depth = 0
    for key in rest:
        if isinstance(node, LineDict) and key in node:
            line, node = node.line_of(key), node[key]
        elif isinstance(node, LineList) and isinstance(key, int) and 0 <= key < len(node):
            line, node = node.line_of(key), node[key]  # noqa: SIM114 - LineList.line_of takes an index
        else:
            break
        depth += 1
    return depth, line


def build(context: CheckContext) -> Template | None:
    """The bundle's template merged as EB merges it, or None when the bundle has none."""
    template = Template({"AWSTemplateFormatVersion": "2010-09-09"})
    settings: dict[tuple[str, str], object] = {}
    for path in context.ebextensions:
        data = context.parsed(path)
        if not isinstance(data, LineDict):
            continue
        settings.update(option_settings.read(data).values())  # its problems are the ebextensions rule's
        for section, entries in data.items():
            if section in SECTIONS and isinstance(entries, LineDict):
                _add_section(template, path, str(section), entries, data.line_of(section))
            elif section not in SECTIONS:
                for line, function in _functions(entries, data.line_of(section)):
                    name = f"{REFERENCE_OUTPUT}{len(template.origins) + 1}"
                    template.files.setdefault(path, line)
                    template.origins[("Outputs", name)] = [Origin(path, line, None)]
                    template.body.setdefault("Outputs", {})[name] = {"Value": function}
    if not template.files:
        return None
    _add_eb_resources(template)
    _replace_option_settings(template, settings)
    return template


def _add_section(template: Template, path: str, section: str, entries: LineDict, line: int) -> None:
    template.files.setdefault(path, line)
    merged = template.body.setdefault(section, {})
    for name, entry in entries.items():
        template.origins.setdefault((section, str(name)), []).append(Origin(path, entries.line_of(name), entry))
        merged[str(name)] = _merge(merged.get(str(name)), _plain(entry))


def _functions(node: object, line: int) -> Iterator[tuple[int, Any]]:
    """The CloudFormation functions EB resolves in a section outside the template, with their lines."""
    if isinstance(node, dict) and len(node) == 1 and str(next(iter(node))).startswith(("Ref", "Fn::")):
        yield line, _plain(node)
    elif isinstance(node, LineDict):
        for key, value in node.items():
            yield from _functions(value, node.line_of(key))
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            yield from _functions(value, node.line_of(index))
    elif isinstance(node, str):
        for text in BACKTICKS.findall(node):
            try:
                function = json.loads(text)
            except ValueError:
                continue  # not a function: text that happens to sit in backticks
            if isinstance(function, dict):
                yield from _functions(function, line)


def _plain(node: object) -> Any:
    """The YAML without line bookkeeping: JSON-ready dicts and lists."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def _merge(base: Any, over: Any) -> Any:
    """`over` merged into `base`: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return over


def references(node: Any) -> Iterator[str]:
    """The logical names a template fragment refers to: Ref, Fn::GetAtt, Fn::Sub and DependsOn."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt" and isinstance(value, list) and value and isinstance(value[0], str):
                yield value[0]
            elif key == "Fn::GetAtt" and isinstance(value, str):
                yield value.split(".")[0]
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    yield from SUB_NAME.findall(text)
                yield from references(value)
            elif key == "DependsOn":
                names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
                yield from (name for name in names if isinstance(name, str))
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def _add_eb_resources(template: Template) -> None:
    """Merge overrides over EB's stand-ins; add the stand-ins the bundle refers to."""
    known = eb_resources()
    resources: dict[str, Any] = template.body.setdefault("Resources", {})
    for name, entry in list(resources.items()):
        spec = known.get(name)
        if spec is not None and isinstance(entry, dict) and entry.get("Type", spec.type) == spec.type:
            resources[name] = _merge({"Type": spec.type, "Properties": copy.deepcopy(spec.properties)}, entry)
            template.stand_ins.add(name)
        elif spec is None and name.startswith(EB_PREFIX) and isinstance(entry, dict) and "Type" not in entry:
            resources[name] = _undocumented(entry)
            template.stand_ins.add(name)
    defined = set(resources) | set(template.body.get("Parameters", {}))
    for section in SECTIONS:
        for name, entry in list(template.body.get(section, {}).items()):
            for target in references(entry):
                if target in defined or target.startswith("AWS::"):
                    continue
                spec = known.get(target)
                if spec is not None:
                    resources[target] = {"Type": spec.type, "Properties": copy.deepcopy(spec.properties)}
                    template.missing.setdefault(target, (section, name))
                elif target.startswith(EB_PREFIX):
                    resources[target] = _undocumented({})
                else:
                    continue
                template.stand_ins.add(target)
                defined.add(target)


def _undocumented(entry: dict[str, Any]) -> dict[str, Any]:
    """An EB resource or parameter eb_tools has no type for: a custom resource, which any Ref or
    Fn::GetAtt may use, keeping what the bundle wrote around it (Metadata, DependsOn ...)."""
    return {**{k: v for k, v in entry.items() if k != "Properties"}, "Type": "Custom::ElasticBeanstalk",
            "Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:elasticbeanstalk"}}


def _replace_option_settings(template: Template, settings: dict[tuple[str, str], object]) -> None:
    parameters: dict[str, Any] = {}
    names: dict[tuple[str, str, str], str] = {}

    def parameter(spec: dict[str, Any]) -> str:
        key = (str(spec.get("Namespace", CUSTOM_OPTION)), str(spec.get("OptionName", "")))
        value = settings.get(key, spec.get("DefaultValue"))
        seen = (*key, str(value))
        if seen not in names:
            base = OPTION_PARAMETER + re.sub(r"[^A-Za-z0-9]", "", key[1])
            name = base if base not in parameters else f"{base}{len(parameters) + 1}"
            parameters[name] = {"Type": "String", **({} if value is None else {"Default": str(value)})}
            names[seen] = name
        return names[seen]

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            spec = node.get("Fn::GetOptionSetting") if len(node) == 1 else None
            if isinstance(spec, dict):
                return {"Ref": parameter(spec)}
            return {key: replace(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replace(value) for value in node]
        return node

    for section in SECTIONS:
        if section in template.body:
            template.body[section] = replace(template.body[section])
    if parameters:
        template.body.setdefault("Parameters", {}).update(parameters)
