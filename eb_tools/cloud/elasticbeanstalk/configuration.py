"""How environments are configured, as EB answers it: DescribeConfigurationSettings (an environment's every
option, or a saved configuration's), DescribeConfigurationOptions (what each option takes, and its default)
and ValidateConfigurationSettings."""
from __future__ import annotations

from eb_tools.cloud.elasticbeanstalk import catalogue, options, platforms
from eb_tools.cloud.elasticbeanstalk.backend_core import operation
from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidParameterCombination, InvalidParameterValue
from eb_tools.cloud.elasticbeanstalk.saved_configs import SavedConfigurations


class ConfigurationQueries(SavedConfigurations):
    @operation
    def configuration_settings(self, app: str | None, name: str | None, template: str | None) -> dict[str, object]:
        """An environment's every option (its effective configuration), or a saved configuration's settings."""
        if template:
            if name:  # the emulation's words
                raise InvalidParameterCombination("You cannot specify both an environment name and a template name.")
            return self._template(app or "", template).configuration(self.region_name)
        env = self._environment(None, name)
        if app and env.application != app:
            raise InvalidParameterValue(f"No Environment found for EnvironmentName = '{env.name}'.")
        return env.configuration(self._merged(env))

    @operation
    def configuration_options(self, app: str | None, name: str | None, template: str | None,
                              platform_ref: str | None, tier: str | None,
                              wanted: list[tuple[str, str]]) -> tuple[platforms.Platform, str, list[dict[str, object]]]:
        """DescribeConfigurationOptions: the options an environment (or template, or platform and tier) takes,
        each with its default and what values it accepts."""
        if name:
            env = self._environment(None, name)
            platform, tier = env.platform, env.tier
            defaults = catalogue.defaults(catalogue.Kind.of(tier, options.effective(self._merged(env))))
        elif template:
            saved = self._template(app or "", template)
            platform, tier, defaults = saved.platform, saved.tier, self._defaults(saved.tier, saved.settings)
        else:
            found = platforms.find(platform_ref or "", self.region_name)
            if found is None:
                raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                            else "No platform or solution stack was specified.")
            platform, tier = found, tier or "WebServer"
            defaults = self._defaults(tier, {})
        described = [options.describe_option(namespace, option, default)
                     for (namespace, option), default in sorted(defaults.items())
                     if not wanted or (namespace, option) in wanted or (namespace, "") in wanted]
        return platform, tier, described

    def _defaults(self, tier: str, settings: dict[options.Key, object]) -> dict[options.Key, str | None]:
        return catalogue.defaults(catalogue.Kind.of(tier, options.effective(options.merged(settings, [], {}))))

    @operation
    def validate_settings(self, app: str, name: str | None, template: str | None,
                          settings: list[options.Setting]) -> list[dict[str, str]]:
        """EB's message for each refused setting, in the tier of environment `name` (web without one); with
        a template (`eb config put` validates the file it uploaded), its settings are checked too."""
        self._application(app)
        tier = self._environment(None, name).tier if name else "WebServer"
        if template:
            saved = self._template(app, template)
            tier, settings = saved.tier, [(n, o, v) for (n, o), v in saved.settings.items()] + settings
        return [{"Message": problems[0], "Severity": "error", "Namespace": namespace, "OptionName": option}
                for namespace, option, value in settings
                if (problems := options.validate([(namespace, option, value)], tier))]
