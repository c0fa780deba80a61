"""A change set's Changes as AWS describes them, instead of moto's bare list of Add/Modify/Remove.

AWS compares the submitted template and parameters with the stack's, statically:
a property written differently is a DirectModification; one that refers to a
changed parameter is a ParameterReference; one that refers to a resource that
will or may be replaced is evaluated Dynamically, since that resource's id may
change. Each changed property says whether it forces a new resource
(RequiresRecreation, from the type's schema); the resource's Replacement is True
when one certainly does, Conditional when one may, False otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eb_tools.cloud.cfn_stacks.schema import ALWAYS, CONDITIONALLY, MISSING, requires_recreation, tag_property
from eb_tools.cloud.cfn_stacks.template import dependency_order, references
from eb_tools.cloud.moto_internals import ValidationError

# Resource attributes other than Properties that a change set reports, in AWS's Scope vocabulary.
POLICY_ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy")


@dataclass
class ResourceChange:
    """One entry of DescribeChangeSet's Changes (serialised by moto from these attribute names)."""

    action: str
    logical_resource_id: str
    resource_type: str
    physical_resource_id: str | None = None
    replacement: str | None = None
    policy_action: str | None = None
    scope: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the resources that exist (conditions applied) and the parameters' values."""

    resources: dict[str, dict[str, Any]]
    parameters: dict[str, Any]
    physical_ids: dict[str, str] = field(default_factory=dict)


def parameter_values(resolved: dict[str, Any]) -> dict[str, str]:
    """Parameters as text: moto turns a Number given by the caller into a number but leaves its default a
    string, and a list parameter into a list, so "30" and 30 must compare equal."""
    return {key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
            for key, value in resolved.items()}


def _detail(attribute: str, name: str | None, recreation: str, evaluation: str, source: str,
            entity: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"Attribute": attribute, "RequiresRecreation": recreation}
    if name is not None:
        target["Name"] = name
    detail: dict[str, Any] = {"Target": target, "Evaluation": evaluation, "ChangeSource": source}
    if entity is not None:
        detail["CausingEntity"] = entity
    return detail


def _property_details(resource_type: str, region: str, name: str, before: Any, after: Any,
                      changed_parameters: set[str], replaced: set[str]) -> list[dict[str, Any]]:
    """The details for one property: its own edit, else the changed parameters and replaced resources it uses."""
    attribute, target_name = ("Tags", None) if name == tag_property(resource_type, region) else ("Properties", name)
    if before != after:
        recreation = requires_recreation(resource_type, region, name, before, after)
        return [_detail(attribute, target_name, recreation, "Static", "DirectModification")]
    recreation = requires_recreation(resource_type, region, name, before)
    details = []
    for function, entity in dict.fromkeys(references(after)):
        base = entity.split(".")[0]
        if base in changed_parameters:
            details.append(_detail(attribute, target_name, recreation, "Static", "ParameterReference", base))
        elif base in replaced:
            source = "ResourceReference" if function == "Ref" else "ResourceAttribute"
            details.append(_detail(attribute, target_name, recreation, "Dynamic", source, entity))
    return details


def _replacement(details: list[dict[str, Any]]) -> str:
    """True when a static change forces a new resource, Conditional when one may, else False."""
    recreations = [(d["Target"]["RequiresRecreation"], d["Evaluation"]) for d in details]
    if (ALWAYS, "Static") in recreations:
        return "True"
    if any(recreation in (ALWAYS, CONDITIONALLY) for recreation, _ in recreations):
        return "Conditional"
    return "False"


def _modification(name: str, old: dict[str, Any], new: dict[str, Any], physical_id: str | None, region: str,
                  changed_parameters: set[str], replaced: set[str]) -> ResourceChange | None:
    resource_type = new["Type"]
    old_properties, new_properties = old.get("Properties") or {}, new.get("Properties") or {}
    details = []
    for prop in dict.fromkeys([*new_properties, *old_properties]):
        details += _property_details(resource_type, region, prop, old_properties.get(prop, MISSING),
                                     new_properties.get(prop, MISSING), changed_parameters, replaced)
    for attribute in POLICY_ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            details.append(_detail(attribute, None, "Never", "Static", "DirectModification"))
    if not details:
        return None
    replacement = _replacement(details)
    policy = f"ReplaceAnd{new.get('UpdateReplacePolicy', 'Delete')}" if replacement == "True" else None
    scope = list(dict.fromkeys(d["Target"]["Attribute"] for d in details))
    return ResourceChange("Modify", name, resource_type, physical_id, replacement, policy, scope, details)


def resource_changes(old: Side, new: Side, region: str) -> list[ResourceChange]:
    """The Changes of a change set taking a stack from `old` to `new`, in dependency order, removals last."""
    retyped = sorted(name for name in new.resources.keys() & old.resources.keys()
                     if new.resources[name]["Type"] != old.resources[name]["Type"])
    if retyped:
        raise ValidationError(message="Update of resource type is not permitted. The new template modifies "
                                      f"resource type of the following resources: [{', '.join(retyped)}]")
    changed_parameters = {key for key in new.parameters.keys() | old.parameters.keys()
                          if new.parameters.get(key, MISSING) != old.parameters.get(key, MISSING)}
    replaced: set[str] = set()
    changes: list[ResourceChange] = []
    for name in dependency_order(new.resources):
        resource = new.resources[name]
        if name not in old.resources:
            changes.append(ResourceChange("Add", name, resource["Type"]))
            continue
        change = _modification(name, old.resources[name], resource, old.physical_ids.get(name), region,
                               changed_parameters, replaced)
        if change is not None:
            changes.append(change)
            if change.replacement != "False":
                replaced.add(name)
    for name, resource in old.resources.items():
        if name not in new.resources:
            policy = {"RetainExceptOnCreate": "Retain"}.get(resource.get("DeletionPolicy", "Delete"),
                                                            resource.get("DeletionPolicy", "Delete"))
            changes.append(ResourceChange("Remove", name, resource["Type"], old.physical_ids.get(name),
                                          policy_action=policy))
    return changes
