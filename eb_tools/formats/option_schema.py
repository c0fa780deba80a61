"""The option schema (options.yaml, from the EB documentation) and value checking."""
from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

SCHEMA_FILE = Path(__file__).with_name("options.yaml")
DEFAULT_NAMESPACE = "aws:elasticbeanstalk:application:environment"  # of a setting that names none
DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
# A value computed by CloudFormation (`{"Fn::GetAtt": ...}` or a `{"Ref": ...}` mapping) is not checkable here.
FUNCTION = re.compile(r"^`?\{\s*\"(Ref|Fn::[A-Za-z]+)\"")


@dataclass(frozen=True)
class Namespace:
    name: str
    source: str
    tier: str | None
    free_form: bool
    options: dict[str, str] = field(default_factory=dict)
    tier_options: tuple[str, ...] = ()
    resource_name: bool = False  # settings name a resource (scheduled actions)


@lru_cache(maxsize=1)
def namespaces() -> dict[str, Namespace]:
    data = yaml.safe_load(SCHEMA_FILE.read_text())
    return {
        name: Namespace(name, spec["source"], spec.get("tier"), bool(spec.get("free_form")),
                        dict(spec.get("options") or {}), tuple(spec.get("tier_options") or ()),
                        bool(spec.get("resource_name")))
        for name, spec in data.items()
    }


def find(namespace: str) -> Namespace | None:
    known = namespaces()
    if namespace in known:
        return known[namespace]
    for name, spec in known.items():
        if name.endswith(":*") and namespace.startswith(name[:-1]) and len(namespace) > len(name) - 1:
            return spec
    return None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """` (did you mean 'x'?)` for the choice closest to a misspelt `word`, else ""."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def split_resource(key: str) -> tuple[str, str | None]:
    """A shorthand namespace key and its resource name: `Name.aws:autoscaling:scheduledaction`."""
    resource, dot, namespace = key.partition(".")
    return (namespace, resource) if dot and namespace.startswith("aws:") else (key, None)


def join_resource(namespace: str, resource: str | None) -> str:
    """The key of a resource's namespace, `Name.aws:autoscaling:scheduledaction` (split_resource's inverse): how
    settings of several resources of one namespace are told apart wherever settings are keyed by namespace."""
    return f"{resource}.{namespace}" if resource else namespace


def value_error(kind: str, value: object) -> str | None:
    """Why `value` does not fit the type `kind`, or None when it does."""
    if isinstance(value, dict) or (isinstance(value, str) and FUNCTION.match(value.strip())):
        return None
    text = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    base, _, arg = kind.partition(" ")
    if base == "bool":
        return None if text.lower() in ("true", "false") else f"{text!r} is not true or false"
    if base in ("int", "number"):
        try:
            number = int(text) if base == "int" else float(text)
        except ValueError:
            return f"{text!r} is not {'a whole number' if base == 'int' else 'a number'}"
        low, _, high = arg.partition("..")
        if (low and number < float(low)) or (high and number > float(high)):
            return f"{text} is out of range {arg}"
        return None
    if base == "enum":
        choices = arg.split("|")
        return None if text in choices else f"{text!r} is not one of {', '.join(choices)}"
    if base == "duration":
        return None if DURATION.match(text) else f"{text!r} is not an ISO 8601 duration such as PT30M"
    if base == "json":
        try:
            json.loads(text)
        except ValueError:
            return f"{text[:40]!r} is not JSON"
        return None
    if isinstance(value, (list, dict)):
        return "a list or mapping where a single value is expected"
    return None


@dataclass(frozen=True)
class Problem:
    """What is wrong with one option setting; callers word it their way (check, the EB emulation)."""

    kind: str  # namespace | tier | option | value
    spec: Namespace | None = None
    detail: str = ""


def check_option(namespace: str, option: str, value: object, tier: str | None = None) -> Problem | None:
    """Check one setting. tier: "web" or "worker" for an environment, None for the bundle both tiers share."""
    spec = find(namespace)
    if spec is None:
        return Problem("namespace")
    if tier is None:
        tier_specific = bool(spec.tier) or option in spec.tier_options
    else:
        tier_specific = spec.tier is not None and spec.tier != tier
    if tier_specific:
        return Problem("tier", spec)
    if spec.free_form:
        return Problem("value", spec, "a list or mapping where a string is expected") if isinstance(
            value, (list, dict)) else None
    kind = spec.options.get(option)
    if kind is None:
        return Problem("option", spec)
    detail = value_error(kind, value)
    return Problem("value", spec, detail) if detail else None
