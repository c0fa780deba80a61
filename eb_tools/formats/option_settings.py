"""The `option_settings` section of an `.ebextensions` configuration file, in every form EB reads, with lines.

Two forms, mixed in no file but both common:

    option_settings:                          option_settings:
      namespace:                                - namespace: namespace
        option: value                             option_name: option
                                                  value: value

A list item without a namespace sets an environment property
(aws:elasticbeanstalk:application:environment). A resource name tells apart the
settings of several resources of one namespace (aws:autoscaling:scheduledaction):
`resource_name:` in a list item, or before the namespace, `Name.aws:...`, in
either form.

`parse` never raises on a bad shape: it returns the settings it could read and a
Problem (line, message, fix) for the rest. Kinds of problem:
  section   option_settings is neither a mapping nor a list;
  setting   a setting that is not a map: a namespace holding no mapping of options,
            a list item that is no mapping or names no option (EB refuses the bundle);
  key       a key of a list item EB does not read (likely a typo: its value is lost);
  resource  a resource name on a namespace that takes none.
Callers word them their way: `eb_tools check` as findings, the emulated EB as its refusals.

Source: EB developer guide, "Option settings" (ebextensions-optionsettings.html)
and "Configuration options" (command-options-general.html, scheduled actions).
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from eb_tools.formats import option_schema as schema
from eb_tools.formats import yamlines
from eb_tools.formats.problems import Problem

SECTION = "option_settings"
DEFAULT_NAMESPACE = schema.DEFAULT_NAMESPACE
LIST_KEYS = ("namespace", "option_name", "value", "resource_name")
Kind = Literal["section", "setting", "key", "resource"]
NOT_A_MAP: tuple[Kind, ...] = ("section", "setting")  # the problems that leave settings unread


@dataclass(frozen=True)
class Setting:
    """One option set, with the lines it was written on (None for YAML read without lines)."""

    namespace: str
    option: str
    value: object
    line: int | None  # the option's name
    namespace_line: int | None  # the namespace (of a list item without one: the item)
    value_line: int | None  # the value (in the mapping form: the option's line)
    resource: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.option


@dataclass
class OptionSettings:
    settings: list[Setting] = field(default_factory=list)  # in the order written
    problems: list[Problem[Kind]] = field(default_factory=list)

    def values(self) -> dict[tuple[str, str], object]:
        """{(namespace, option): value}; the last setting of an option wins, as in EB."""
        return {setting.key: setting.value for setting in self.settings}


def read(document: object) -> OptionSettings:
    """The option_settings of a configuration file's YAML (yamlines.load); none when it has no such section."""
    if not isinstance(document, dict) or SECTION not in document:
        return OptionSettings()
    return parse(document[SECTION], _line(document, SECTION))


def parse(body: object, line: int | None = None) -> OptionSettings:
    """The settings of an option_settings section (`body`, written at `line`), and its problems."""
    result = OptionSettings()
    if isinstance(body, dict):
        for key, options in body.items():
            _namespace(result, str(key), options, _line(body, key, line))
    elif isinstance(body, list):
        for index, item in enumerate(body):
            _list_item(result, item, _line(body, index, line))
    else:
        result.problems.append(Problem(line, "section", f"{SECTION} must be a mapping or a list",
                                       f"write namespace: {{option: value}} pairs under {SECTION}"))
    return result


def _line(node: object, key: object, default: int | None = None) -> int | None:
    """The line of `key` in a yamlines node; `default` in YAML read without lines."""
    line_of = getattr(node, "line_of", None)
    return int(line_of(key)) if callable(line_of) else default


def _namespace(result: OptionSettings, key: str, options: object, line: int | None) -> None:
    """`namespace: {option: value}` (the mapping form), the namespace perhaps after a resource name."""
    namespace, resource = schema.split_resource(key)
    if not isinstance(options, dict):
        result.problems.append(Problem(line, "setting", f"options of {key} must be a mapping of name: value, not "
                                                        f"{_shown(options)}",
                                       "indent the options under the namespace, one name: value a line"))
        return
    _resource(result, namespace, resource, line)
    for option, value in options.items():
        option_line = _line(options, option, line)
        result.settings.append(Setting(namespace, str(option), value, option_line, line, option_line, resource))


def _list_item(result: OptionSettings, item: object, line: int | None) -> None:
    """`- namespace: ..., option_name: ..., value: ...` (the list form); no namespace: an environment property."""
    name = item.get("option_name") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not _scalar(name):
        result.problems.append(Problem(line, "setting", "each list item needs option_name and value (and a "
                                                        f"namespace, {DEFAULT_NAMESPACE} if none)",
                                       "write - namespace: ...\\n    option_name: ...\\n    value: ..."))
        return
    for key in item:
        if key not in LIST_KEYS:
            result.problems.append(Problem(_line(item, key, line), "key", f"unknown key {key!r}"
                                           f"{schema.did_you_mean(str(key), LIST_KEYS)} in a list item",
                                           f"use {', '.join(LIST_KEYS)}"))
    written = item.get("namespace")
    namespace, resource = schema.split_resource(str(written)) if _scalar(written) else (DEFAULT_NAMESPACE, None)
    if item.get("resource_name") is not None:
        resource = str(item["resource_name"])
    namespace_line = _line(item, "namespace", line)
    _resource(result, namespace, resource, namespace_line)
    result.settings.append(Setting(namespace, str(name), item.get("value"), _line(item, "option_name", line),
                                   namespace_line, _line(item, "value", line), resource))


def _scalar(value: Any) -> bool:
    """A name YAML gives as a scalar (not empty, not a list or mapping)."""
    return value is not None and value != "" and not isinstance(value, (dict, list))


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _resource(result: OptionSettings, namespace: str, resource: str | None, line: int | None) -> None:
    spec = schema.find(namespace)
    if resource is not None and spec is not None and not spec.resource_name:
        result.problems.append(Problem(line, "resource", f"{namespace} takes no resource name (here {resource!r})",
                                       "remove the resource name: only aws:autoscaling:scheduledaction takes one"))


def text(value: object) -> str | None:
    """A setting's value as EB lists it: YAML's booleans lower case, numbers as written."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def from_bundle(data: bytes, label: str = "") -> tuple[list[tuple[str, str, object]], list[str]]:
    """The option_settings of a source bundle's .ebextensions (the version `label`), in the order EB applies the
    files (a resource's namespace keyed `RESOURCE.namespace`: option_schema.join_resource), and EB's words for
    what it refuses in them: a file that is not YAML, a setting that is not a map."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [], ["The source bundle is not a valid ZIP archive."]
    names = sorted(n for n in archive.namelist() if n.startswith(".ebextensions/") and n.endswith(".config")
                   and n.count("/") == 1)
    settings: list[tuple[str, str, object]] = []
    errors: list[str] = []
    for name in names:
        where = f"{name} in application version {label}" if label else name
        try:
            document = yamlines.load(archive.read(name))
        except yaml.YAMLError as exc:
            errors.append(f"The configuration file {where} contains invalid YAML or JSON. YAML exception: "
                          f"{str(exc).splitlines()[0]}")
            continue
        parsed = read(document)
        if any(problem.kind in NOT_A_MAP for problem in parsed.problems):
            # EB's words: awsdocs/aws-elastic-beanstalk-developer-guide#93 (an `eb deploy` refused so)
            errors.append(f"Each option setting in configuration file {where} must be a map. Update each option "
                          "setting in the configuration file.")
        settings.extend((schema.join_resource(s.namespace, s.resource), s.option, s.value) for s in parsed.settings)
    return settings, errors
