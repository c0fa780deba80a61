"""Saved configurations (configuration templates), and the file EB keeps of each in its storage bucket,
resources/templates/APP/NAME.

EB writes one when a configuration template is created (`eb config save` downloads it from there) and
applies any properly formatted file found there (`eb config put` uploads one). The format and keys are
the EB developer guide's (environment-configuration-savedconfig): AWSConfigurationTemplateVersion
(required), Platform (PlatformArn or SolutionStackName; SolutionStack at the top level too),
OptionSettings (namespace -> option -> value), EnvironmentTier, Tags, EnvironmentConfigurationMetadata.
`key`, `render` and `parse` are the file; SavedConfigurations is the backend's part: Create-, Update- and
DeleteConfigurationTemplate, and the template as the file in the bucket says it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from eb_tools.cloud.elasticbeanstalk import options, platforms, storage
from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.entities import TIERS, SavedConfiguration
from eb_tools.cloud.elasticbeanstalk.exceptions import ConfigurationValidation, InvalidParameterValue

VERSION = "1.1.0.0"
NO_PLATFORM = "Unable to determine base for template pack (no solution stack)"  # EB's (ebcli's create.noplatform)


def key(application: str, name: str) -> str:
    return f"resources/templates/{application}/{name}"


def _millis(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def render(template: SavedConfiguration, region: str, tags: dict[str, str]) -> bytes:
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
    for namespace, by_option in (document.get("OptionSettings") or {}).items():
        if not isinstance(by_option, dict):
            raise ValueError(f"OptionSettings: {namespace} is not a mapping of options")
        for option, value in by_option.items():
            settings[(str(namespace), str(option))] = str(value).lower() if isinstance(value, bool) else value
    metadata = document.get("EnvironmentConfigurationMetadata") or {}
    return Parsed(reference or document.get("SolutionStack"), tier if tier in TIERS else None,
                  metadata.get("Description") if isinstance(metadata, dict) else None, settings)


class SavedConfigurations(EBBackendCore):
    def _template(self, app_name: str, name: str) -> SavedConfiguration:
        """A saved configuration; EB applies a properly formatted file in its storage bucket too, which
        `eb config put` uploads, so the file, when there, is the template."""
        app = self._application(app_name)
        data = storage.read(self.account_id, self.region_name, key(app_name, name))
        if data is not None:
            self._read_template(app_name, name, data)
        if name not in app.templates:
            # EB's text (as users' tools match it, e.g. ansible's elasticbeanstalk_cfg)
            raise InvalidParameterValue(f"No Configuration Template named '{app_name}/{name}' found.")
        return app.templates[name]

    def _read_template(self, app_name: str, name: str, data: bytes) -> None:
        """The template as its file `data` says it is, when that differs from the one known."""
        app = self.applications[app_name]
        try:
            parsed = parse(data)
        except ValueError as error:
            raise InvalidParameterValue(f"Configuration Template {name} is not valid: {error}.") from None
        known = app.templates.get(name)
        platform = platforms.find(parsed.platform or "", self.region_name) or (known.platform if known else None)
        if platform is None:
            raise InvalidParameterValue(NO_PLATFORM)
        read = (platform, parsed.tier or (known.tier if known else "WebServer"),
                parsed.description or (known.description if known else ""), parsed.settings)
        if known is None or read != (known.platform, known.tier, known.description, known.settings):
            now = self.clock.now()
            app.templates[name] = SavedConfiguration(application=app_name, name=name, description=read[2],
                                           platform=platform, tier=read[1], settings=read[3],
                                           created=known.created if known else now, updated=now)

    def _save_template(self, template: SavedConfiguration, tags: dict[str, str]) -> None:
        storage.put(self.account_id, self.region_name, key(template.application, template.name),
                    render(template, self.region_name, tags))

    def _template_base(self, platform_ref: str | None, source: tuple[str, str] | None, env_id: str | None,
                       env_name: str | None) -> tuple[platforms.Platform, str, dict[options.Key, object]]:
        """What a new template starts from: an environment's applied settings, another template, or a
        platform (and no settings)."""
        if env_id or env_name:
            env = self._environment(env_id, env_name)
            return env.platform, env.tier, dict(env.settings)
        if source:
            original = self._template(*source)
            return original.platform, original.tier, dict(original.settings)
        found = platforms.find(platform_ref or "", self.region_name)
        if found is None:
            raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                        else NO_PLATFORM)
        return found, "WebServer", {}

    @operation
    def create_template(self, app_name: str, name: str, description: str, platform_ref: str | None,
                        source: tuple[str, str] | None, env_id: str | None, env_name: str | None,
                        tier: str | None, settings: list[options.Setting], remove: list[tuple[str, str]],
                        tags: dict[str, str]) -> SavedConfiguration:
        """A configuration template from an environment's applied settings, another template, or a platform,
        overlaid by `settings` less `remove`; its file is written to the storage bucket, as EB does."""
        app = self._application(app_name)
        if not 1 <= len(name) <= 100:
            raise InvalidParameterValue(f"Value {name} at 'TemplateName' failed to satisfy constraint: Member must "
                                        "have length between 1 and 100")
        if name in app.templates:
            raise InvalidParameterValue(f"Configuration Template {name} already exists.")  # ebcli's cfg.nameexists
        platform, base_tier, base = self._template_base(platform_ref, source, env_id, env_name)
        template_tier = tier or base_tier
        if template_tier not in TIERS:
            raise InvalidParameterValue(f"Tier {template_tier} is not valid; use WebServer or Worker.")
        problems = options.validate(settings, template_tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        for removed in remove:
            base.pop(removed, None)
        base.update({(n, o): v for n, o, v in settings})
        now = self.clock.now()
        template = SavedConfiguration(application=app_name, name=name, description=description, platform=platform,
                            tier=template_tier, settings=base, created=now, updated=now)
        app.templates[name] = template
        self._save_template(template, tags)
        return template

    @operation
    def update_template(self, app_name: str, name: str, description: str | None, settings: list[options.Setting],
                        remove: list[tuple[str, str]]) -> SavedConfiguration:
        template = self._template(app_name, name)
        problems = options.validate(settings, template.tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        for removed in remove:
            template.settings.pop(removed, None)
        template.settings.update({(n, o): v for n, o, v in settings})
        if description is not None:
            template.description = description
        template.updated = self.clock.now()
        self._save_template(template, {})
        return template

    @operation
    def delete_template(self, app_name: str, name: str) -> None:
        self._template(app_name, name)
        del self.applications[app_name].templates[name]
        storage.delete(self.account_id, self.region_name, key(app_name, name))
