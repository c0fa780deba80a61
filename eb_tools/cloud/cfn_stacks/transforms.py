"""A template's Transform section, as CloudFormation processes it, for the one macro the local cloud can expand.

moto ignores a template's top-level Transform: a SAM or an Include template would be created from its
unprocessed resources. The local cloud expands `AWS::SecretsManager` alone (either version the CloudFormation
template reference allows, "AWS::SecretsManager transform"): its HostedRotationLambda becomes the hosted
rotation function the local Secrets Manager runs (cfn_resources/rotation_schedule.py), where AWS makes a
Lambda function in a nested stack. Any other transform is refused, as a ValidationError, rather than ignored.

The expansion needs the caller's acknowledgement, CAPABILITY_AUTO_EXPAND: CreateStack and UpdateStack refuse
a template with a transform without it ("InsufficientCapabilitiesException ... Requires capabilities :
[CAPABILITY_AUTO_EXPAND]", e.g. cfn-sphere/cfn-sphere#191); CreateChangeSet takes it either way (its
Capabilities: "This capacity doesn't apply to creating change sets"), but the nested stack then fails when the
change set runs, with the same words (lumigo-io/SAR-Logging#31, mapbox/cfn-config#186): here, the resource
the transform expands.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from eb_tools.cloud.cfn_stacks.events import StackOperationError
from eb_tools.cloud.moto_internals import ValidationError

SECRETS_MANAGER = ("AWS::SecretsManager-2020-07-23", "AWS::SecretsManager-2024-09-16")
AUTO_EXPAND = "CAPABILITY_AUTO_EXPAND"
REQUIRES = f"Requires capabilities : [{AUTO_EXPAND}]"
SCHEDULE = "AWS::SecretsManager::RotationSchedule"


def declared(template: Any) -> list[str]:
    """The transforms a template declares, in order (a name, or a list of names and macro objects)."""
    found = template.get("Transform") if isinstance(template, dict) else None
    if found is None:
        return []
    return [str(item.get("Name") if isinstance(item, dict) else item) for item in
            (found if isinstance(found, list) else [found])]


def expands(resource: dict[str, Any]) -> bool:
    """Whether the transform expands this resource: a rotation schedule with a hosted function."""
    return resource.get("Type") == SCHEDULE and "HostedRotationLambda" in (resource.get("Properties") or {})


def check(template: Any) -> None:
    """Refuse a transform the local cloud cannot expand, and a hosted rotation function without its transform."""
    unknown = [name for name in declared(template) if name not in SECRETS_MANAGER]
    if unknown:
        raise ValidationError(message=f"Transform {', '.join(unknown)}: the local cloud expands only "
                                      f"{' and '.join(SECRETS_MANAGER)}, and refuses the template rather than "
                                      "create its unprocessed resources")
    if declared(template):
        return
    hosted = sorted(name for name, resource in (template.get("Resources") or {}).items()
                    if isinstance(resource, dict) and expands(resource))
    if hosted:
        raise ValidationError(message=f"Template format error: HostedRotationLambda ({', '.join(hosted)}) needs "
                                      f"the template's Transform: {SECRETS_MANAGER[-1]}")


def acknowledged(template: Any, capabilities: Collection[str]) -> bool:
    """Whether a template's transforms, if any, were acknowledged (CreateStack and UpdateStack refuse it else)."""
    return not declared(template) or AUTO_EXPAND in capabilities


def check_expanded(resource: dict[str, Any], capabilities: Collection[str]) -> None:
    """A change set's resource the transform expands fails when the change set did not acknowledge it."""
    if expands(resource) and AUTO_EXPAND not in capabilities:
        raise StackOperationError(REQUIRES)

