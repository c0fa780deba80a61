"""The saved configuration file EB keeps in its storage bucket, resources/templates/APP/NAME.

EB writes one when a configuration template is created (`eb config save` downloads it from there) and
applies any properly formatted file found there (`eb config put` uploads one). The format and keys are
the EB developer guide's (environment-configuration-savedconfig): AWSConfigurationTemplateVersion
(required), Platform (PlatformArn or SolutionStackName; SolutionStack at the top level too),
OptionSettings (namespace -> option -> value), EnvironmentTier, Tags, EnvironmentConfigurationMetadata.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from eb_tools.cloud.elasticbeanstalk.entities import TIERS, Template

VERSION = "1.1.0.0"


def key(application: str, name: str) -> str:
    return f"resources/templates/{application}/{name}"


def _millis(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def render(template: Template, region: str, tags: dict[str, str]) -> bytes:
    by_namespace: dict[str, dict[str, object]] = {}
    for (namespace, option), value in sorted(template.settings.items()):
        by_namespace.setdefault(namespace, {})[option] = value
    document: dict[str, Any] = {
        "EnvironmentConfigurationMetadata": {"Description": template.description,
                                             "DateCreated": _millis(template.created),
                                             "DateModified": _millis(template.updated)},
        "Platform": {"PlatformArn": template.platform.arn_in(region)},
        "OptionSettings": by_namespace,
        "EnvironmentTier": {"Name": template.tier, "Type": TIERS[template.tier]["Type"]},
        "AWSConfigurationTemplateVersion": VERSION,
    }
    if tags:
        document["Tags"] = tags
    return yaml.safe_dump(document, sort_keys=False, width=1000).encode()


@dataclass(frozen=True)
class Parsed:
    platform: str | None  # a platform ARN or solution stack name, as the file gives it
    tier: str | None
    description: str | None
    settings: dict[tuple[str, str], object]


def parse(data: bytes) -> Parsed:
    """A saved configuration file; ValueError with the reason when EB could not read it."""
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise ValueError(f"invalid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(document, dict) or "AWSConfigurationTemplateVersion" not in document:
        raise ValueError("AWSConfigurationTemplateVersion is required")
    platform = document.get("Platform") or {}
    reference = platform.get("PlatformArn") or platform.get("SolutionStackName") if isinstance(platform, dict) \
        else None
    tier = (document.get("EnvironmentTier") or {}).get("Name")
    settings: dict[tuple[str, str], object] = {}
    for namespace, options in (document.get("OptionSettings") or {}).items():
        if not isinstance(options, dict):
            raise ValueError(f"OptionSettings: {namespace} is not a mapping of options")
        for option, value in options.items():
            settings[(str(namespace), str(option))] = str(value).lower() if isinstance(value, bool) else value
    metadata = document.get("EnvironmentConfigurationMetadata") or {}
    return Parsed(reference or document.get("SolutionStack"), tier if tier in TIERS else None,
                  metadata.get("Description") if isinstance(metadata, dict) else None, settings)
