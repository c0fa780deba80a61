"""`eb_tools provision STAGE`: the pipeline, in the order it runs.

The stage runner (eb_tools/stage/runner.py) calls these steps in order, after the
stage file (typed, one-line errors) and the credentials' account are checked.
1. Check that a start version (`--label`) is registered.
2. Plan, read-only: the network stack of the stage's isolation group, then the
   stage stack (fed the network's outputs), each as its change set would change
   it; then the EB application and both environments, compared with their live
   settings. A replacement of a data resource is refused without
   `--allow-replace`. The plan is printed; `--dry-run` stops here.
3. Execute: each stack's change set (events streamed; a failure is rolled back
   by CloudFormation and reported with the resource and AWS's reason); then the
   application and both environments with the stack's outputs; then, once the
   web environment's load balancer exists, the stage stack again with it, for
   the load balancer's alarms.
A second run finds nothing to change and says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eb_tools.aws import Target
from eb_tools.errors import ProvisionError
from eb_tools.names import network_stack_name, stage_stack_name
from eb_tools.provision import environments, stacks
from eb_tools.provision.changes import Change, change_table
from eb_tools.provision.templates import (
    LOAD_BALANCER,
    WEB_ORIGINS,
    network_template,
    stage_template,
)
from eb_tools.stage.runner import Echo
from eb_tools.stage.stacks import stack_outputs, stack_parameters
from eb_tools.stage.tables import table
from eb_tools.stage.target import StageTarget
from eb_tools.stage_file import Stage, StageFile

NETWORK_OUTPUTS = ("VpcId", "PublicSubnetIds", "PrivateSubnetIds")


@dataclass
class Plan:
    stage: Stage
    network: stacks.StackPlan
    resources: stacks.StackPlan
    application: environments.ApplicationPlan

    @property
    def empty(self) -> bool:
        return not (self.network.changes or self.resources.changes or self.application.create
                    or any(e.action != "none" for e in self.application.environments))

    def as_dict(self) -> dict[str, Any]:
        """The plan for `provision --output json`: each stack's changes, the application, each environment."""
        app = self.application
        return {"stacks": [{"name": stack.name, "action": "update" if stack.exists else "create",
                            "changes": [{"action": c.action, "resource": c.resource, "type": c.type,
                                         "replacement": c.replacement, "replaces_data": c.replaces_data}
                                        for c in stack.changes]} for stack in (self.network, self.resources)],
                "application": {"name": app.name, "action": "create" if app.create else "none",
                                "version": app.version},
                "environments": [{"name": env.name, "tier": env.tier, "action": env.action,
                                  "changed": len(env.changed) + len(env.removed)} for env in app.environments]}


def check_version(target: Target, stage: Stage, version: str | None) -> None:
    """A start version must be registered in the stage's application already."""
    if version and not target.client("elasticbeanstalk").describe_application_versions(
            ApplicationName=stage.application, VersionLabels=[version])["ApplicationVersions"]:
        raise ProvisionError(f"--label {version}: no such version in application {stage.application}; "
                             "register it first (eb deploy, or eb_tools local), or leave the option out")


def make_plan(target: Target, file: StageFile, stage: Stage, *, prepare: bool, web_origin: str | None = None,
              version: str | None = None) -> Plan:
    """Read-only unless `prepare`, which leaves change sets ready to execute (see stacks.plan_stack)."""
    cfn, eb = target.client("cloudformation"), target.client("elasticbeanstalk")
    network_name = network_stack_name(file.application, stage.isolation)
    network = stacks.plan_stack(cfn, network_name, network_template(file, stage.isolation), {}, prepare)
    network_outputs = stack_outputs(cfn, network_name) if not network.changes else None
    resources_name = stage_stack_name(file.application, stage.name)
    template = stage_template(file, stage.name)
    live_outputs = stack_outputs(cfn, resources_name)
    if network_outputs is None:  # the network changes first: the stage stack's inputs are known only after it
        if live_outputs is None:  # all Adds, from the template; its change set later
            resources = stacks.plan_stack(cfn, resources_name, template, {}, prepare=False)
        else:
            resources = stacks.StackPlan(resources_name, template, {}, True, [
                Change("Modify", "(planned once the network stack is done)", "stage stack")])
    else:
        parameters = _stage_parameters(cfn, stage, resources_name, network_outputs, web_origin)
        resources = stacks.plan_stack(cfn, resources_name, template, parameters, prepare)
    outputs = live_outputs if not resources.changes else None
    return Plan(stage, network, resources, environments.plan_application(eb, stage, outputs, version))


def _stage_parameters(cfn: Any, stage: Stage, name: str, network: dict[str, str],
                      web_origin: str | None) -> dict[str, str]:
    """The network's outputs and the web origins (`web_origin` alone when given); the load balancer as the live
    stack has it (set later)."""
    parameters = {key: network[key] for key in NETWORK_OUTPUTS}
    parameters[WEB_ORIGINS] = web_origin or ",".join(environments.web_origins(stage))
    live = stack_parameters(cfn, name)
    if LOAD_BALANCER in live:
        parameters[LOAD_BALANCER] = live[LOAD_BALANCER]
    return parameters


def render(plan: Plan, echo: Echo) -> None:
    for stack in (plan.network, plan.resources):
        verb = "update" if stack.exists else "create"
        if not stack.changes:
            echo(f"stack {stack.name}: no changes")
            continue
        echo(f"stack {stack.name} ({verb}):")
        for line in change_table(stack.changes):
            echo(f"  {line}")
    app = plan.application
    echo(f"application {app.name}: {'create' if app.create else 'exists'}")
    rows = []
    for env in app.environments:
        detail = "settings from the stage stack's outputs" if not env.settings else \
            f"{len(env.changed) + len(env.removed)} setting(s) differ" if env.action != "none" else "up to date"
        if env.action == "create":
            detail += f", on version {app.version}" if app.version else ", on EB's sample application"
        rows.append((env.action, env.name, env.tier, detail))
    for line in table(rows, ("action", "environment", "tier", "")):
        echo(f"  {line}")
    for env in app.environments:
        if env.action == "update":
            for namespace, option, value in env.changed:
                echo(f"    {env.name}: {namespace} {option} = {value}")
            for namespace, option in env.removed:
                echo(f"    {env.name}: {namespace} {option} removed")


def refuse_data_loss(plan: Plan, allow_replace: bool) -> None:
    replaced = plan.network.data_replacements + plan.resources.data_replacements
    if replaced and not allow_replace:
        names = ", ".join(f"{c.resource} ({c.type})" for c in replaced)
        raise ProvisionError(f"the change would replace data resources: {names}; a replacement starts empty. "
                             "Change the stage file back, or run again with --allow-replace")


def execute(target: Target, file: StageFile, plan: Plan, echo: Echo, web_origin: str | None = None) -> dict[str, str]:
    """Run the prepared plan; return the stage stack's outputs."""
    cfn, eb = target.client("cloudformation"), target.client("elasticbeanstalk")
    network_outputs = stacks.execute(cfn, plan.network, echo, target.poll_seconds)
    resources = plan.resources
    if resources.change_set is None and resources.changes:  # it waited for the network's outputs
        parameters = _stage_parameters(cfn, plan.stage, resources.name, network_outputs, web_origin)
        resources = stacks.plan_stack(cfn, resources.name, resources.template, parameters, prepare=True)
        refuse_data_loss(Plan(plan.stage, plan.network, resources, plan.application), allow_replace=False)
    outputs = stacks.execute(cfn, resources, echo, target.poll_seconds)
    application = environments.plan_application(eb, plan.stage, outputs, plan.application.version)
    environments.execute(eb, plan.stage, application, echo, target.poll_seconds)
    return _with_load_balancer_alarms(target, file, plan.stage, resources, outputs, echo)


def _with_load_balancer_alarms(target: Target, file: StageFile, stage: Stage, resources: stacks.StackPlan,
                               outputs: dict[str, str], echo: Echo) -> dict[str, str]:
    """The ALB is EB's: once it exists, give its name to the stage stack, which then adds its alarms. The ALB is
    the live web environment's, the one serving the stage's URL: after a blue/green swap, the twin."""
    eb, cfn = target.client("elasticbeanstalk"), target.client("cloudformation")
    web = StageTarget(stage, target).web_pair()[0]
    balancers = eb.describe_environment_resources(EnvironmentName=web)["EnvironmentResources"].get("LoadBalancers", [])
    name = balancers[0]["Name"] if balancers else ""
    dimension = name.split(":loadbalancer/", 1)[1] if ":loadbalancer/" in name else ""
    parameters = stack_parameters(cfn, resources.name)
    if not dimension or parameters.get(LOAD_BALANCER) == dimension:
        return outputs
    parameters[LOAD_BALANCER] = dimension
    echo(f"stack {resources.name}: alarms for load balancer {dimension}")
    again = stacks.plan_stack(cfn, resources.name, resources.template, parameters, prepare=True)
    return stacks.execute(cfn, again, echo, target.poll_seconds)
