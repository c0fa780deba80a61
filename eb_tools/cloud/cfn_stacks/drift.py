"""Drift detection, which moto lacks (it answers DetectStackDrift with an HTML 500): DetectStackDrift,
DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts, in the shapes of CloudFormation's API
reference.

A resource is checked when its type's handler reads its properties back (`Handler.drift_properties`, today
the SQS queues' attributes); CloudFormation leaves a type that does not support drift detection out of
DescribeStackResourceDrifts, and so does the local cloud for the types it cannot read. Only the properties
the template sets are compared, against the template's values as they resolve now (as CloudFormation
compares them). A detection completes at once: DETECTION_COMPLETE, the stack IN_SYNC or DRIFTED.
"""
from __future__ import annotations

import json
import uuid
import weakref
from typing import Any

from eb_tools.cloud.cfn_resources.base import Resource
from eb_tools.cloud.cfn_stacks.execution import resolved_properties
from eb_tools.cloud.cfn_stacks.models import find_stack
from eb_tools.cloud.moto_internals import (
    CloudFormationBackend,
    Stack,
    ValidationError,
    created_resources,
    template_resources,
    utcnow,
)

# Per backend: {detection id: its status}, and {stack id: the last detection's resource drifts}.
_DETECTIONS: weakref.WeakKeyDictionary[CloudFormationBackend, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()
_DRIFTS: weakref.WeakKeyDictionary[CloudFormationBackend, dict[str, list[dict[str, Any]]]] = \
    weakref.WeakKeyDictionary()


def detect(backend: CloudFormationBackend, name: str, logical_ids: list[str]) -> str:
    """Check the stack's resources (those named, or all); the detection's id."""
    stack = find_stack(backend, name)
    if stack is None:
        raise ValidationError(message=f"Stack with id {name} does not exist")
    now = utcnow()
    drifts = [drift for logical_id, resource in created_resources(stack.resource_map).items()
              if (not logical_ids or logical_id in logical_ids)
              and (drift := _resource_drift(stack, logical_id, resource, now)) is not None]
    detection = str(uuid.uuid4())
    drifted = sum(d["StackResourceDriftStatus"] != "IN_SYNC" for d in drifts)
    _DRIFTS.setdefault(backend, {})[stack.stack_id] = drifts
    _DETECTIONS.setdefault(backend, {})[detection] = {
        "StackId": stack.stack_id, "StackDriftDetectionId": detection, "DetectionStatus": "DETECTION_COMPLETE",
        "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC", "DriftedStackResourceCount": drifted,
        "Timestamp": now}
    return detection


def status(backend: CloudFormationBackend, detection: str) -> dict[str, Any]:
    found = _DETECTIONS.get(backend, {}).get(detection)
    if found is None:
        raise ValidationError(message=f"Drift detection with id {detection} does not exist")
    return found


def resource_drifts(backend: CloudFormationBackend, name: str, filters: list[str]) -> list[dict[str, Any]]:
    """The last detection's resources of the stack, those of the statuses in `filters` (all without)."""
    stack = find_stack(backend, name)
    if stack is None:
        raise ValidationError(message=f"Stack with id {name} does not exist")
    drifts = _DRIFTS.get(backend, {}).get(stack.stack_id, [])
    return [d for d in drifts if not filters or d["StackResourceDriftStatus"] in filters]


def _resource_drift(stack: Stack, logical_id: str, resource: Any, now: Any) -> dict[str, Any] | None:
    """The resource's StackResourceDrift; None when its type is not checked."""
    if not isinstance(resource, Resource) or not resource.handler.drift_properties:
        return None
    written = template_resources(stack.resource_map)[logical_id]
    expected = {key: value for key, value in resolved_properties(stack.resource_map, written).items()
                if key in resource.handler.drift_properties}
    actual = resource.handler.actual(resource)
    drift = {"StackId": stack.stack_id, "LogicalResourceId": logical_id, "ResourceType": written["Type"],
             "PhysicalResourceId": resource.physical_resource_id, "Timestamp": now}
    if actual is None:
        return {**drift, "StackResourceDriftStatus": "DELETED"}
    actual = {key: value for key, value in actual.items() if key in expected}
    differences = [change for key in sorted(expected) for change in _differences(f"/{key}", expected[key],
                                                                                  actual.get(key))]
    return {**drift, "ExpectedProperties": json.dumps(expected), "ActualProperties": json.dumps(actual),
            "PropertyDifferences": differences,
            "StackResourceDriftStatus": "MODIFIED" if differences else "IN_SYNC"}


def _differences(path: str, expected: Any, actual: Any) -> list[dict[str, str]]:
    """PropertyDifferences between two values, objects compared key by key (paths as /Key/Sub)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [change for key in sorted(expected.keys() | actual.keys())
                for change in _differences(f"{path}/{key}", expected.get(key), actual.get(key))]
    if actual is None:
        return [{"PropertyPath": path, "ExpectedValue": _text(expected), "ActualValue": "",
                 "DifferenceType": "REMOVE"}]
    if expected is None:
        return [{"PropertyPath": path, "ExpectedValue": "", "ActualValue": _text(actual), "DifferenceType": "ADD"}]
    if _text(expected) == _text(actual):
        return []
    return [{"PropertyPath": path, "ExpectedValue": _text(expected), "ActualValue": _text(actual),
             "DifferenceType": "NOT_EQUAL"}]


def _text(value: Any) -> str:
    """A value as PropertyDifferences give it: numbers and booleans as CloudFormation writes them."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)
