"""Option settings as EB checks them: the same schema as `eb_tools check`, EB's error texts.

EB merges, lowest first: platform defaults, the bundle's .ebextensions
option_settings, then settings applied to the environment directly. A setting it
cannot apply fails the operation with a ConfigurationValidationException.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from eb_tools.cloud.elasticbeanstalk import catalogue
from eb_tools.formats import cron, option_settings, scheduled_actions
from eb_tools.formats import option_schema as schema

Setting = tuple[str, str, object]  # namespace, option name, value
Key = tuple[str, str]


def merged(applied: Mapping[Key, object], bundle: Iterable[Setting],
           defaults: Mapping[Key, str | None]) -> dict[Key, str | None]:
    """Every option as EB merges them: applied to the environment, else the running version's .ebextensions
    (the last file that sets it), else EB's default (catalogue.defaults); None for an option without a value."""
    result: dict[Key, str | None] = dict(defaults)
    result.update({(n, o): option_settings.text(v) for n, o, v in bundle})
    result.update({key: option_settings.text(v) for key, v in applied.items()})
    return result


def effective(options: Mapping[Key, str | None]) -> Callable[[str, str], str]:
    """`options` (merged) as a function of (namespace, option), "" for an option without a value."""
    return lambda namespace, option: options.get((namespace, option)) or ""


def validate(settings: Iterable[Setting], tier: str) -> list[str]:
    """EB's messages for the settings it would refuse in an environment of `tier` (WebServer/Worker)."""
    tier_name = "worker" if tier == "Worker" else "web"
    messages = []
    for key, option, value in settings:
        namespace = schema.split_resource(key)[0]
        problem = schema.check_option(namespace, option, value, tier_name) or _scheduled(namespace, option, value)
        where = f"(Namespace: '{namespace}', OptionName: '{option}')"
        listed = catalogue.known(namespace, option)
        if problem is not None and problem.kind in ("namespace", "option") and listed is not None:
            # an option EB lists itself (DescribeConfigurationSettings) is one it accepts back, in its tier
            wrong_tier = bool(listed) and (("worker" in listed) != (tier == "Worker"))
            problem = schema.Problem("tier") if wrong_tier else None
        if problem is None:
            continue
        if problem.kind in ("namespace", "option"):
            messages.append(f"Invalid option specification {where}: Unknown configuration setting.")
        elif problem.kind == "tier" and namespace.startswith("aws:elb"):
            messages.append(f"Load Balancer {option} setting cannot be applied because AWSEBLoadBalancer "
                            "doesn't exist.")
        elif problem.kind == "tier":
            messages.append(f"Invalid option specification {where}: not valid in a {tier_name} environment.")
        else:
            messages.append(f"Invalid option value: '{value}' {where}: {problem.detail}.")
    return messages


def _scheduled(namespace: str, option: str, value: object) -> schema.Problem | None:
    """A scheduled action's time that is no ISO 8601 timestamp, or recurrence that is no cron expression (the
    schema knows them as strings; EB guide, aws:autoscaling:scheduledaction)."""
    if namespace != scheduled_actions.NAMESPACE or value is None:
        return None
    if option in ("StartTime", "EndTime") and scheduled_actions.timestamp(str(value)) is None:
        return schema.Problem("value", detail="not an ISO 8601 timestamp such as 2015-04-28T04:07:02Z")
    if option == "Recurrence":
        try:
            cron.Schedule.parse(str(value))
        except cron.CronError as error:
            return schema.Problem("value", detail=f"not a cron expression: it {error}")
    return None


def from_api(option_settings: list[dict[str, str]] | None) -> list[Setting]:
    """OptionSettings as the API carries them (ResourceName, Namespace, OptionName, Value), a resource's
    namespace keyed `RESOURCE.namespace` (option_schema.join_resource)."""
    return [(schema.join_resource(s.get("Namespace", ""), s.get("ResourceName")), s.get("OptionName", ""),
             s.get("Value")) for s in option_settings or []]


def keys_from_api(options_to_remove: list[dict[str, str]] | None) -> list[tuple[str, str]]:
    """OptionsToRemove as the API carries them (ResourceName, Namespace, OptionName)."""
    return [(schema.join_resource(o.get("Namespace", ""), o.get("ResourceName")), o.get("OptionName", ""))
            for o in options_to_remove or []]


def describe_option(namespace: str, option: str, default: str | None) -> dict[str, object]:
    """DescribeConfigurationOptions' entry for an option: its default, and the values the schema accepts."""
    entry: dict[str, object] = {"Namespace": namespace, "Name": option, "ChangeSeverity": "NoInterruption",
                                "UserDefined": False, "ValueType": "Scalar"}
    if default is not None:
        entry["DefaultValue"] = default
    spec = schema.find(namespace)
    kind = str(spec.options.get(option, "")) if spec is not None else ""
    base, _, argument = kind.partition(" ")
    if base == "list":
        entry["ValueType"] = "List"
    elif base == "bool":
        entry["ValueOptions"] = ["true", "false"]
    elif base == "enum":
        entry["ValueOptions"] = argument.split("|")
    elif base == "int" and ".." in argument:
        low, _, high = argument.partition("..")
        entry["MinValue"], entry["MaxValue"] = int(low), int(high)
    return entry
