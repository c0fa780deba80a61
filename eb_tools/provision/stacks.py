"""CloudFormation stacks through change sets: plan what would change, then execute and watch.

Planning makes read-only calls, plus a change set for a stack that exists (the
only way CloudFormation tells what an update would replace); a dry run deletes
that change set again, so it leaves every stack as it found it. A stack that does
not exist yet is planned from its template alone: every resource is an Add.
A change set without changes FAILS with AWS's "didn't contain changes" reason:
that is "nothing to do", as Copilot treats it.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eb_tools.aws import Progress, WaitTimeout, wait_until
from eb_tools.errors import ProvisionError
from eb_tools.provision.changes import Change
from eb_tools.stage.stacks import describe, stack_outputs

NO_CHANGES = "didn't contain changes"
# Resources whose replacement loses data a user cares about (a replacement starts empty).
DATA_TYPES = frozenset({"AWS::RDS::DBInstance", "AWS::ElastiCache::ReplicationGroup", "AWS::S3::Bucket",
                        "AWS::SecretsManager::Secret", "AWS::SQS::Queue"})
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
FAILED = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "UPDATE_ROLLBACK_COMPLETE",
                    "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"})
IAM = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
# A template with a Transform (the stage's, for its hosted secret rotation) expands into a nested stack, which
# CloudFormation creates only when the change set acknowledged that (CreateChangeSet's Capabilities; without it
# the nested stack's resource fails "Requires capabilities : [CAPABILITY_AUTO_EXPAND]", e.g. mapbox/cfn-config#186).
AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"
CHANGE_SET_TIMEOUT = 300.0
STACK_TIMEOUT = 3600.0  # RDS with a replica and Multi-AZ Redis take their time


@dataclass
class StackPlan:
    name: str
    template: dict[str, Any]
    parameters: dict[str, str]
    exists: bool
    changes: list[Change] = field(default_factory=list)
    change_set: str | None = None  # ARN, while one is prepared

    @property
    def data_replacements(self) -> list[Change]:
        return [c for c in self.changes if c.replaces_data]


def _status(cfn: Any, name: str) -> str | None:
    stack = describe(cfn, name)
    return None if stack is None else str(stack["StackStatus"])


def plan_stack(cfn: Any, name: str, template: dict[str, Any], parameters: dict[str, str],
               prepare: bool) -> StackPlan:
    """What deploying `template` as stack `name` would change. With `prepare`, a change set is left
    ready to execute (a CREATE one for a new stack); without, nothing is left behind."""
    status = _status(cfn, name)
    if status == "ROLLBACK_COMPLETE":
        raise ProvisionError(f"stack {name} is ROLLBACK_COMPLETE from a failed first creation; delete it "
                             f"(aws cloudformation delete-stack --stack-name {name}) and run provision again")
    exists = status not in (None, "REVIEW_IN_PROGRESS")
    plan = StackPlan(name, template, parameters, exists)
    if not exists and not prepare:
        plan.changes = [Change("Add", logical, resource["Type"], "", resource["Type"] in DATA_TYPES)
                        for logical, resource in sorted(template["Resources"].items())]
        return plan
    arn = cfn.create_change_set(
        StackName=name, ChangeSetName=f"eb-tools-{int(time.time())}", ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateBody=json.dumps(template), Capabilities=[*IAM, *([AUTO_EXPAND] if "Transform" in template else [])],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Description="eb_tools provision")["Id"]
    described = _settled_change_set(cfn, arn, name)
    if described["Status"] == "FAILED":
        cfn.delete_change_set(ChangeSetName=arn)
        if NO_CHANGES not in described.get("StatusReason", ""):
            raise ProvisionError(f"stack {name}: CloudFormation refused the change set: "
                                 f"{described.get('StatusReason')}")
        return plan
    plan.changes = [_change(c["ResourceChange"]) for c in described.get("Changes", [])]
    if prepare:
        plan.change_set = arn
    else:
        cfn.delete_change_set(ChangeSetName=arn)
    return plan


def _settled_change_set(cfn: Any, arn: str, stack: str) -> dict[str, Any]:
    def settled() -> dict[str, Any]:
        described: dict[str, Any] = cfn.describe_change_set(ChangeSetName=arn)
        return described if described["Status"] in ("CREATE_COMPLETE", "FAILED") else {}

    try:
        return wait_until(settled, CHANGE_SET_TIMEOUT, f"the change set of stack {stack}", interval=1)
    except WaitTimeout as error:
        raise ProvisionError(str(error)) from None


def _change(resource: dict[str, Any]) -> Change:
    return Change(resource["Action"], resource["LogicalResourceId"], resource.get("ResourceType", ""),
                  resource.get("Replacement", ""), resource.get("ResourceType", "") in DATA_TYPES)


def discard(cfn: Any, plan: StackPlan) -> None:
    """Delete a prepared change set (and the empty stack a CREATE one makes)."""
    if plan.change_set:
        cfn.delete_change_set(ChangeSetName=plan.change_set)
        if not plan.exists:
            cfn.delete_stack(StackName=plan.name)
        plan.change_set = None


def execute(cfn: Any, plan: StackPlan, echo: Callable[[str], None], interval: float = 2.0) -> dict[str, str]:
    """Execute the prepared change set, stream the stack's events, return its outputs.
    A failure rolls the stack back (CloudFormation does) and raises naming the resource and AWS's reason."""
    if plan.change_set is None:
        outputs = stack_outputs(cfn, plan.name)
        if outputs is None:
            raise ProvisionError(f"stack {plan.name} does not exist and no change set was prepared")
        return outputs
    started = time.time()
    cfn.execute_change_set(ChangeSetName=plan.change_set)
    plan.change_set = None
    echo_new = _event_printer(cfn, plan.name, started, echo)
    progress = Progress(echo, f"stack {plan.name}")

    def finished() -> str:
        progress.news(echo_new())
        status = _status(cfn, plan.name)
        if status in SUCCESS | FAILED:
            return str(status)
        progress.quiet(lambda: _pending(cfn, plan.name, status))
        return ""

    try:
        status = wait_until(finished, STACK_TIMEOUT, f"stack {plan.name} to settle", interval=interval)
    except WaitTimeout as error:
        raise ProvisionError(f"{error}; it goes on: watch it with aws cloudformation describe-stacks") from None
    if status in FAILED:
        raise ProvisionError(f"stack {plan.name} failed and was rolled back ({status}): "
                             f"{_first_failure(cfn, plan.name, started)}")
    return stack_outputs(cfn, plan.name) or {}


def _pending(cfn: Any, stack: str, status: str | None) -> str:
    """The stack's status and the resources still in progress (a ResourceStatus ending in _IN_PROGRESS:
    CloudFormation API reference, StackResourceSummary), for a progress line. ListStackResources, since
    DescribeStackResources answers with the first 100 resources only."""
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack) if status else []
    busy = [f"{r['LogicalResourceId']} ({r['ResourceType']})" for page in pages
            for r in page["StackResourceSummaries"] if str(r.get("ResourceStatus", "")).endswith("_IN_PROGRESS")]
    return f"{status or 'gone'}" + (f", in progress: {', '.join(busy)}" if busy else "")


def _event_printer(cfn: Any, stack: str, started: float, echo: Callable[[str], None]) -> Callable[[], int]:
    """A function that prints the stack's (name or id) events since `started` it has not printed yet, and
    says how many it printed."""
    seen: set[str] = set()

    def print_new() -> int:
        new = 0
        for event in reversed(_events_since(cfn, stack, started)):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                new += 1
                reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
                echo(f"  {event['Timestamp']:%H:%M:%S}  {event['ResourceStatus']:<28} "
                     f"{event['LogicalResourceId']} ({event.get('ResourceType', '')}){reason}")
        return new

    return print_new


def delete(cfn: Any, stack_id: str, echo: Callable[[str], None], interval: float = 2.0) -> None:
    """DeleteStack, streaming its events until DELETE_COMPLETE (followed by id: a deleted stack's name no longer
    answers); DELETE_FAILED raises naming the resource and AWS's reason (the stack stays, as on AWS)."""
    started = time.time()
    cfn.delete_stack(StackName=stack_id)
    echo_new = _event_printer(cfn, stack_id, started, echo)
    progress = Progress(echo, f"stack {stack_id}")

    def finished() -> str:
        progress.news(echo_new())
        status = _status(cfn, stack_id)
        if status in ("DELETE_COMPLETE", "DELETE_FAILED"):
            return str(status)
        progress.quiet(lambda: _pending(cfn, stack_id, status))
        return ""

    try:
        status = wait_until(finished, STACK_TIMEOUT, f"stack {stack_id} to be deleted", interval=interval)
    except WaitTimeout as error:
        raise ProvisionError(f"{error}; it goes on: watch it with aws cloudformation describe-stacks") from None
    if status == "DELETE_FAILED":
        raise ProvisionError(f"stack {stack_id} could not be deleted (DELETE_FAILED): "
                             f"{_first_failure(cfn, stack_id, started)}")


def _events_since(cfn: Any, name: str, started: float) -> list[dict[str, Any]]:
    """The stack's events since `started`, newest first (as CloudFormation lists them)."""
    events: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=name):
        for event in page["StackEvents"]:
            if event["Timestamp"].timestamp() < started - 1:
                return events
            events.append(event)
    return events


def _first_failure(cfn: Any, name: str, started: float) -> str:
    failures = [e for e in _events_since(cfn, name, started)
                if e["ResourceStatus"].endswith("_FAILED") and e.get("ResourceStatusReason")
                and e["LogicalResourceId"] != name]
    if not failures:
        return "see the stack's events"
    first = failures[-1]  # newest first: the last listed failed first, the others followed it
    return f"{first['LogicalResourceId']} ({first.get('ResourceType', '')}): {first['ResourceStatusReason']}"
