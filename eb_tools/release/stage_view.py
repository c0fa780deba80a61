"""What a stage runs, as `eb_tools diff` compares it, and what its stage file says it should run.

Each tier's environment gives its effective options (DescribeConfigurationSettings), EB's default for each
(DescribeConfigurationOptions: an option at its default is one nobody chose), its properties and
environmentsecrets, its platform and label; the label's bundle gives the lock's digest (fingerprint.py), the
schema revision its code expects (formats/migrations.py), `cron.yaml` and its `.ebextensions`
option_settings. Beside what runs, each view holds what `provision` would set (stage/desired.py, from the
stage file and the stage stack's outputs) and what the bundle sets, so that a difference can be told
explained or not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eb_tools.errors import EbToolsError
from eb_tools.formats import cronfile, migrations, option_settings
from eb_tools.names import stage_stack_name
from eb_tools.release import fingerprint, versions
from eb_tools.stage import ebenv
from eb_tools.stage.desired import desired_settings
from eb_tools.stage.stacks import stack_outputs
from eb_tools.stage.target import StageTarget

Key = tuple[str, str, str]  # tier, kind, name: ("web", "option", "aws:autoscaling:asg MinSize")
# Namespaces EB fills in itself, listed by DescribeConfigurationSettings but nobody's choice (the EB guide
# documents neither), and the AMI EB picks for the platform version.
EB_OWN = ("aws:cloudformation:template:parameter", "aws:elasticbeanstalk:control")
EB_OWN_OPTIONS = {("aws:autoscaling:launchconfiguration", "ImageId")}


@dataclass
class StageView:
    stage: str
    runs: dict[Key, str] = field(default_factory=dict)  # what runs, EB's defaults included
    defaults: dict[Key, str] = field(default_factory=dict)  # EB's default of each option ("" for none)
    desired: dict[Key, str] = field(default_factory=dict)  # what provision would set
    bundle: dict[Key, str] = field(default_factory=dict)  # what the running bundle's .ebextensions set

    def chosen(self, key: Key) -> bool:
        """Whether someone chose this value: it is not EB's default (properties and the rest always are)."""
        return key in self.runs and (key not in self.defaults or self.runs[key] != self.defaults[key])


def key_of(tier: str, namespace: str, option: str) -> Key:
    """An option's key: properties and environmentsecrets by their names, other options by namespace and name."""
    if namespace == ebenv.PROPERTIES:
        return tier, "property", option
    if namespace == ebenv.SECRETS:
        return tier, "secret", option
    return tier, "option", f"{namespace} {option}"


def read(where: StageTarget) -> StageView:
    """The stage's view; EbToolsError (one line, before anything else) when it is not provisioned."""
    eb = where.client("elasticbeanstalk")
    outputs = stack_outputs(where.client("cloudformation"), stage_stack_name(where.application, where.name))
    environments = where.live()
    described = ebenv.describe(eb, where.application, list(environments.values()))
    missing = [name for name in environments.values() if name not in described]
    if outputs is None or missing:
        what = f"environment {missing[0]}" if outputs is not None else \
            f"stack {stage_stack_name(where.application, where.name)}"
        raise EbToolsError(f"diff: stage {where.name} is not provisioned ({what} does not exist); run "
                           f"eb_tools provision {where.name} first")
    view, bundles = StageView(where.name), Bundles(where)
    for tier, name in environments.items():
        _read_tier(view, eb, where, tier, described[name])
        view.desired.update({key_of(tier, n, o): v for n, o, v in desired_settings(where.stage, tier, outputs)})
        _read_bundle(view, tier, bundles, str(described[name].get("VersionLabel", "")))
    return view


def _read_tier(view: StageView, eb: Any, where: StageTarget, tier: str, env: dict[str, Any]) -> None:
    name = env["EnvironmentName"]
    options = eb.describe_configuration_options(ApplicationName=where.application, EnvironmentName=name)["Options"]
    defaults = {(o["Namespace"], o["Name"]): str(o.get("DefaultValue", "")) for o in options}
    for (namespace, option), value in ebenv.settings(eb, where.application, name).items():
        if namespace in EB_OWN or (namespace, option) in EB_OWN_OPTIONS:
            continue
        key = key_of(tier, namespace, option)
        view.runs[key] = value
        if (namespace, option) in defaults:
            view.defaults[key] = defaults[(namespace, option)]
    platform = fingerprint.platform_name(str(env.get("PlatformArn", "")))
    view.runs[(tier, "platform", "branch")] = platform.rsplit("/", 1)[0]
    view.runs[(tier, "platform", "version")] = platform
    view.desired[(tier, "platform", "branch")] = where.stage.platform
    view.runs[(tier, "version", "label")] = str(env.get("VersionLabel", ""))


class Bundles:
    """The stage's bundles by label, each read once (both tiers usually run one)."""

    def __init__(self, where: StageTarget) -> None:
        self.where = where
        self.read: dict[str, bytes | None] = {}

    def data(self, label: str) -> bytes | None:
        if label not in self.read:
            self.read[label] = versions.bundle_of(self.where, label) if label else None
        return self.read[label]


def _read_bundle(view: StageView, tier: str, bundles: Bundles, label: str) -> None:
    """The lock's digest, the schema revision its code expects (its migrations' head), cron.yaml's tasks (the
    worker's) and .ebextensions' options of the label's bundle."""
    data = bundles.data(label)
    view.runs[(tier, "bundle", "lock sha256")] = fingerprint.of_bundle(view.stage, data, {}).lock or "-"
    if data is None:
        return
    view.runs[(tier, "bundle", "schema revision")] = migrations.head(migrations.read_bundle(data)) or "-"
    settings, _ = option_settings.from_bundle(data, label)
    view.bundle.update({key_of(tier, n, o): option_settings.text(v) or "" for n, o, v in settings})
    if tier == "worker":
        cron = versions.member(data, cronfile.NAME) or b""
        for task in cronfile.parse(cron.decode("utf-8", "replace")).tasks:
            view.runs[(tier, "cron", task.name)] = f"{task.schedule.expression} {task.url}"

