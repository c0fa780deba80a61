"""What the CloudFormation registry says about each resource type, read from cfn-lint's bundled schemas.

A change set's Replacement and RequiresRecreation come from the type's schema, as
in AWS: a change to one of its `createOnlyProperties` replaces the resource, one of
its `conditionalCreateOnlyProperties` may, anything else is updated in place.
cfn-lint ships the registry's schemas for every type and region, so no table is
kept here and a new type is covered when cfn-lint is upgraded.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

ALWAYS, CONDITIONALLY, NEVER = "Always", "Conditionally", "Never"

MISSING = object()  # a property absent from a template (None is a value YAML can hold)
UNKNOWN = object()  # a property's new value, when only the execution will know it


@cache
def known_types(region: str) -> frozenset[str]:
    """The resource types CloudFormation accepts in `region`."""
    return frozenset(PROVIDER_SCHEMA_MANAGER.get_resource_types(region))


def is_known(resource_type: str, region: str) -> bool:
    """Whether AWS would accept the type, or answer "Unrecognized resource types" (custom resources are
    always accepted; AWS::Serverless types exist only through the SAM transform, which cfn-lint lists)."""
    return resource_type.startswith("Custom::") or resource_type in known_types(region)


def _schema(resource_type: str, region: str) -> dict[str, Any] | None:
    try:
        schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    return schema


def tag_property(resource_type: str, region: str) -> str | None:
    """The property a taggable type keeps its tags in; AWS reports its changes under Attribute "Tags"."""
    schema = _schema(resource_type, region) or {}
    tagging = schema.get("tagging") or {}
    path = str(tagging.get("tagProperty", "/properties/Tags"))
    return path.removeprefix("/properties/") if tagging.get("taggable") else None


def _at(value: Any, parts: list[str]) -> Any:
    """The value at a schema path below a property; `*` walks every item of a list."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if head == "*":
        return [_at(item, rest) for item in value] if isinstance(value, list) else MISSING
    return _at(value.get(head, MISSING), rest) if isinstance(value, dict) else MISSING


def requires_recreation(resource_type: str, region: str, name: str, before: Any, after: Any = UNKNOWN) -> str:
    """RequiresRecreation of a change of property `name` from `before` to `after` (MISSING when absent,
    UNKNOWN when a parameter or resource it refers to changes it): Always for a create-only property,
    Conditionally for a conditionally create-only one or a type without a schema (nothing tells it
    cannot), else Never. A create-only path below the property (e.g. /properties/Export/Name) counts
    when the value at that path changes, and as Conditionally when the new value is unknown."""
    schema = _schema(resource_type, region)
    if schema is None:
        return CONDITIONALLY
    for key, answer in (("createOnlyProperties", ALWAYS), ("conditionalCreateOnlyProperties", CONDITIONALLY)):
        for path in schema.get(key, []):
            parts = path.split("/")[2:]  # "/properties/Name/Sub" -> ["Name", "Sub"]
            if not parts or parts[0] != name:
                continue
            if after is UNKNOWN:
                return answer if len(parts) == 1 else CONDITIONALLY
            if _at(before, parts[1:]) != _at(after, parts[1:]):
                return answer
    return NEVER
