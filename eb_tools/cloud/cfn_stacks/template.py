"""Reading a template as CloudFormation plans it: what each resource refers to, and the order that follows.

moto creates a resource the moment something refers to it (its ResourceMap is
lazy), so a failure would be charged to whichever resource asked first. Creating
in dependency order ourselves means each resource is created, and fails, under
its own name, and the dependants of a failed one are never started.
"""
from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

from eb_tools.cloud.moto_internals import ResourceMap, ValidationError, template_resources

# ${Name} or ${Name.Attribute} in Fn::Sub; ${!Literal} is not a reference.
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def references(value: Any) -> list[tuple[str, str]]:
    """Every (function, entity) the value refers to: ("Ref", "Name") or ("GetAtt", "Name.Attribute"),
    from Ref, Fn::GetAtt and Fn::Sub, in order of appearance. Entities may be parameters, resources
    or pseudo parameters (AWS::Region); the caller sorts them out."""
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if len(node) == 1:
            function, argument = next(iter(node.items()))
            if function == "Ref" and isinstance(argument, str):
                found.append(("Ref", argument))
                return
            if function == "Fn::GetAtt":
                parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
                found.append(("GetAtt", ".".join(str(part) for part in parts)))
                return
            if function == "Fn::Sub":
                text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
                for entity in SUB_VARIABLE.findall(str(text)):
                    if entity.split(".")[0] not in variables:
                        found.append(("GetAtt" if "." in entity else "Ref", entity))
                walk(variables)
                return
        for item in node.values():
            walk(item)

    walk(value)
    return found


def depends_on(resource: dict[str, Any], names: Container[str]) -> list[str]:
    """The resources among `names` that `resource` needs first: its DependsOn and what it refers to."""
    declared = resource.get("DependsOn") or []
    wanted = [declared] if isinstance(declared, str) else list(declared)
    wanted += [entity.split(".")[0] for _, entity in references(resource)]
    return list(dict.fromkeys(name for name in wanted if name in names))


def dependency_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """The resources' names, each after everything it depends on, otherwise in template order. A cycle is
    refused as CloudFormation refuses it when the change set is created."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):]
            raise ValidationError(message=f"Circular dependency between resources: [{', '.join(sorted(cycle))}]")
        visiting.append(name)
        for dependency in depends_on(resources[name], resources):
            visit(dependency)
        visiting.pop()
        order.append(name)

    for name in resources:
        visit(name)
    return order


def active_resources(resource_map: ResourceMap) -> dict[str, dict[str, Any]]:
    """The template's resources whose Condition holds (a resource whose condition is false does not exist)."""
    conditions = resource_map.lazy_condition_map
    return {name: resource for name, resource in template_resources(resource_map).items()
            if "Condition" not in resource or conditions[resource["Condition"]]}
