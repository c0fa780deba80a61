"""The options EB lists for an environment, with their defaults (defaults.yaml), by kind of environment.

A kind is what decides which namespaces exist: the tier, whether a web environment has a load balancer
(aws:elasticbeanstalk:environment EnvironmentType) and of which type (LoadBalancerType), both fixed when
the environment is created.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
ENVIRONMENT = "aws:elasticbeanstalk:environment"
LB_TYPES = ("classic", "application", "network")
Key = tuple[str, str]  # namespace, option name


@dataclass(frozen=True)
class Kind:
    tier: str  # WebServer or Worker
    load_balanced: bool
    lb_type: str  # one of LB_TYPES; meaningful only when load_balanced

    @classmethod
    def of(cls, tier: str, option: Any) -> Kind:
        """The kind of an environment of `tier` whose options `option(namespace, name)` answers."""
        load_balanced = tier == "WebServer" and option(ENVIRONMENT, "EnvironmentType") != "SingleInstance"
        lb_type = str(option(ENVIRONMENT, "LoadBalancerType") or "classic")
        return cls(tier, load_balanced, lb_type if lb_type in LB_TYPES else "classic")

    @property
    def tags(self) -> frozenset[str]:
        """The `for` values that select this kind's namespaces and options."""
        if self.tier != "WebServer":
            return frozenset({"worker"})
        return frozenset({"web", "loadbalanced", self.lb_type}) if self.load_balanced else frozenset({"web"})


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(DEFAULTS_FILE.read_text()))


def _applies(spec: Any, tags: frozenset[str]) -> bool:
    wanted = spec.get("for") if isinstance(spec, dict) else None
    if wanted is None:
        return True
    return bool(tags & set([wanted] if isinstance(wanted, str) else wanted))


def _value(spec: Any, kind: Kind) -> str | None:
    if isinstance(spec, dict) and "value" in spec:
        spec = spec["value"]
    if isinstance(spec, dict):  # by load balancer type
        spec = spec.get(kind.lb_type, spec.get("application"))
    return None if spec is None else str(spec)


def defaults(kind: Kind) -> dict[Key, str | None]:
    """Every option EB lists for an environment of `kind`, with its default (None: listed without a value)."""
    found: dict[Key, str | None] = {}
    for namespace, spec in _catalogue().items():
        if not _applies(spec, kind.tags):
            continue
        for option, option_spec in spec["options"].items():
            if _applies(option_spec, kind.tags):
                found[(namespace, option)] = _value(option_spec, kind)
    return found


def known(namespace: str, option: str) -> frozenset[str] | None:
    """The `for` tags of an option EB lists in some kind of environment (empty: every kind); None if none."""
    spec = _catalogue().get(namespace)
    if spec is None or option not in spec["options"]:
        return None
    tags: set[str] = set()
    for level in (spec, spec["options"][option]):
        wanted = level.get("for") if isinstance(level, dict) else None
        if wanted is not None:
            tags = set([wanted] if isinstance(wanted, str) else wanted)
    return frozenset(tags)
