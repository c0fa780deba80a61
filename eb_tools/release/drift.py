"""CloudFormation's drift detection of a stage's stacks (its network's and its own), for `eb_tools diff STAGE`.

DetectStackDrift starts a detection, DescribeStackDriftDetectionStatus says when it is done and whether the
stack is IN_SYNC or DRIFTED, DescribeStackResourceDrifts lists each resource it checked, with the property
differences of a MODIFIED one (CloudFormation API reference). Only the resources whose types support drift
detection are checked, and only the properties the template sets. EB environments are not CloudFormation
resources of these stacks: their settings are compared by diff.py.
"""
from __future__ import annotations

from typing import Any

from eb_tools.aws import wait_until
from eb_tools.names import network_stack_name, stage_stack_name
from eb_tools.release.difference import Difference
from eb_tools.stage.target import StageTarget

DETECTION_TIMEOUT = 600.0
DRIFTED = ("MODIFIED", "DELETED")


def detect(where: StageTarget) -> tuple[list[Difference], list[str]]:
    """The drifted resources of the stage's stacks as differences, and a line per stack saying what was
    checked."""
    cfn = where.client("cloudformation")
    found: list[Difference] = []
    notes = []
    for stack in (network_stack_name(where.application, where.stage.isolation),
                  stage_stack_name(where.application, where.name)):
        status = _detection(cfn, stack, where.target.poll_seconds)
        drifts = _resource_drifts(cfn, stack)
        reason = f" ({status['DetectionStatusReason']})" if status.get("DetectionStatusReason") else ""
        notes.append(f"stack {stack}: {status['StackDriftStatus']}, {len(drifts)} resources checked by "
                     f"CloudFormation's drift detection{reason}")
        found += [d for drift in drifts for d in _differences(stack, drift)]
    return found, notes


def _detection(cfn: Any, stack: str, interval: float) -> dict[str, Any]:
    detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]

    def done() -> dict[str, Any]:
        status: dict[str, Any] = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        return {} if status["DetectionStatus"] == "DETECTION_IN_PROGRESS" else status

    return wait_until(done, DETECTION_TIMEOUT, f"drift detection of stack {stack}", interval=interval)


def _resource_drifts(cfn: Any, stack: str) -> list[dict[str, Any]]:
    drifts: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = cfn.describe_stack_resource_drifts(StackName=stack, **token)
        drifts += page["StackResourceDrifts"]
        if not page.get("NextToken"):
            return drifts
        token = {"NextToken": page["NextToken"]}


def _differences(stack: str, drift: dict[str, Any]) -> list[Difference]:
    status, resource = drift["StackResourceDriftStatus"], drift["LogicalResourceId"]
    if status not in DRIFTED:
        return []
    tier = f"stack {stack}"
    if status == "DELETED":
        return [Difference(tier, "drift", resource, "(deleted)", "(exists)", why="CloudFormation: DELETED")]
    return [Difference(tier, "drift", f"{resource} {change['PropertyPath']}", change.get("ActualValue"),
                       change.get("ExpectedValue"), why=f"CloudFormation: {change['DifferenceType']}")
            for change in drift.get("PropertyDifferences", [])]
