"""A stage's Elastic Beanstalk side: the application and its web and worker environments.

The application is one per repository, shared by its stages, so a version label
can move from one stage to the next. Each environment gets the settings of its
tier (web: load balancer, listeners, health check; worker: sqsd) and, from the
stage stack's outputs, its instance profile, security group, subnets and
environment properties: names and ARNs only, never a secret (the Flask key is
loaded by the platform from Secrets Manager through `environmentsecrets`).
Planning reads DescribeEnvironments and DescribeConfigurationSettings and
compares; executing creates or updates only what differs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eb_tools.errors import ProvisionError
from eb_tools.names import environment_names, web_environments
from eb_tools.stage import ebenv, schedule
from eb_tools.stage.desired import Setting, desired_settings
from eb_tools.stage_file import Stage

TIERS = {"web": {"Name": "WebServer", "Type": "Standard"}, "worker": {"Name": "Worker", "Type": "SQS/HTTP"}}
ENVIRONMENT_TIMEOUT = 1800.0


@dataclass
class EnvironmentPlan:
    tier: str
    name: str
    action: str  # create | update | none
    settings: list[Setting]  # the whole desired set
    changed: list[Setting] = field(default_factory=list)  # what differs from the live environment
    removed: list[tuple[str, str]] = field(default_factory=list)  # eb_tools' scheduled actions no longer wanted


@dataclass
class ApplicationPlan:
    name: str
    create: bool
    environments: list[EnvironmentPlan]
    version: str | None = None  # the label new environments start on; None: EB's sample application


def web_origins(stage: Stage) -> list[str]:
    """The origins browsers load the stage's pages from, the only ones its uploads bucket lets upload (CORS):
    the custom domain over HTTPS when the stage has one, and each web environment's EB CNAME (a blue/green
    stage's twin too: a swap exchanges the names), over HTTP, the load balancer's certificate being the
    domain's."""
    domain = [f"https://{stage.domain.name}"] if stage.domain else []
    return domain + [f"http://{name}.{stage.region}.elasticbeanstalk.com"
                     for name in web_environments(stage.application, stage.name, stage.web.blue_green)]


def plan_application(eb: Any, stage: Stage, outputs: dict[str, str] | None,
                     version: str | None = None, now: datetime | None = None) -> ApplicationPlan:
    """Read-only: what creating or updating the application and both environments would do.
    `outputs` None means the stage stack does not exist yet: its environments will be created.
    `version`: a registered label new environments start on (as `eb create --version`); `now`: when the
    schedule's actions are planned from (default: the time it is)."""
    now = now or datetime.now(UTC)
    create = not eb.describe_applications(ApplicationNames=[stage.application])["Applications"]
    live = {} if create else {e["EnvironmentName"]: e for e in eb.describe_environments(
        ApplicationName=stage.application, IncludeDeleted=False)["Environments"]}
    plans = []
    names = [("web", name) for name in web_environments(stage.application, stage.name, stage.web.blue_green)]
    for tier, name in [*names, ("worker", environment_names(stage.application, stage.name)["worker"])]:
        desired = desired_settings(stage, tier, outputs, now) if outputs is not None else []
        if name not in live:
            plans.append(EnvironmentPlan(tier, name, "create", desired, desired))
            continue
        current = ebenv.settings(eb, stage.application, name)
        changed = [s for s in desired if current.get((s[0], s[1])) != s[2]]
        removed = schedule.stale(current, desired, now) if outputs is not None else []
        plans.append(EnvironmentPlan(tier, name, "update" if changed or removed else "none", desired, changed,
                                     removed))
    return ApplicationPlan(stage.application, create, plans, version)


def platform_arn(eb: Any, branch: str, source: str = "eb_tools.yaml") -> str:
    """The newest platform version of the stage file's platform branch (`source` names the file)."""
    versions = eb.list_platform_versions(Filters=[
        {"Type": "PlatformBranchName", "Operator": "=", "Values": [branch]}])["PlatformSummaryList"]
    if not versions:
        raise ProvisionError(f"{source}: platform: {branch!r} is not a platform branch Elastic Beanstalk "
                             "offers in this region; see `aws elasticbeanstalk list-platform-branches`")
    return str(max(versions, key=lambda v: [int(p) for p in v["PlatformVersion"].split(".")])["PlatformArn"])


def execute(eb: Any, stage: Stage, plan: ApplicationPlan, echo: Callable[[str], None],
            interval: float = 2.0) -> None:
    """Create the application if needed, create or update the environments in parallel, wait for both."""
    if plan.create:
        eb.create_application(ApplicationName=plan.name, Description=ebenv.APPLICATION_DESCRIPTION)
        echo(f"created application {plan.name}")
    requests: dict[str, str] = {}
    started = datetime.now(UTC)
    arn = platform_arn(eb, stage.platform, stage.source) if any(e.action == "create" for e in plan.environments) else ""
    for env in plan.environments:
        options = ebenv.option_settings(env.changed)
        if env.action == "create":
            answer = eb.create_environment(ApplicationName=plan.name, EnvironmentName=env.name, Tier=TIERS[env.tier],
                                           PlatformArn=arn, OptionSettings=options,
                                           **({"VersionLabel": plan.version} if plan.version else {}),
                                           **({"CNAMEPrefix": env.name} if env.tier == "web" else {}))
        elif env.action == "update":
            answer = eb.update_environment(ApplicationName=plan.name, EnvironmentName=env.name,
                                           OptionSettings=options,
                                           OptionsToRemove=ebenv.options_to_remove(env.removed))
        else:
            continue
        requests[env.name] = answer["ResponseMetadata"]["RequestId"]
    if not requests:
        return
    try:
        ebenv.watch(eb, plan.name, requests, started, echo, ENVIRONMENT_TIMEOUT, interval)
    except ebenv.WaitTimeout as error:
        raise ProvisionError(f"{error}; the update goes on: watch it with eb events") from None
    except ebenv.OperationFailed as error:
        raise ProvisionError(f"environment {error}; see eb events") from None
