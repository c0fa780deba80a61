"""Executing a change set, and deleting a stack, resource by resource as CloudFormation does.

moto applies a change set in one go: a resource that raises leaves the request
failing with the stack half-built, a type it has no model for is skipped as if
created, and the stack's Outputs are never computed. Here each resource is
created, updated, replaced or deleted in dependency order with its events; the
first failure stops the operation and rolls it back: on create, everything made
is deleted (ROLLBACK_COMPLETE); on update, every resource is put back as it was
and what the update made is deleted (UPDATE_ROLLBACK_COMPLETE, the previous
template, parameters and outputs intact).
"""
from __future__ import annotations

import copy
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from eb_tools.cloud.cfn_stacks import transforms
from eb_tools.cloud.cfn_stacks.changes import POLICY_ATTRIBUTES
from eb_tools.cloud.cfn_stacks.events import (
    StackOperationError,
    failure_reason,
    physical_id,
    resource_event,
    stack_event,
)
from eb_tools.cloud.cfn_stacks.schema import ALWAYS, MISSING, requires_recreation
from eb_tools.cloud.cfn_stacks.template import active_resources, dependency_order
from eb_tools.cloud.moto_internals import (
    ChangeSet,
    OutputMap,
    ResourceMap,
    Stack,
    TaggedEC2Resource,
    cloudformation_backends,
    created_resources,
    delete_created,
    ec2_backends,
    template_resources,
)
from eb_tools.cloud.moto_internals import cfn_parsing as parsing

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


def resource_map(stack: Stack, template: dict[str, Any], parameters: dict[str, Any]) -> ResourceMap:
    """A loaded map of `template` for `stack` (parameters, mappings, conditions resolved; nothing created).
    Loading checks the template as moto can: missing parameters, outputs reading unknown attributes."""
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    result = ResourceMap(stack.stack_id, stack.name, parameters, stack.tags or {}, region_name=stack.region_name,
                         account_id=stack.account_id, template=template, cross_stack_resources=backend.exports)
    result.load()
    result.tags.update({"aws:cloudformation:stack-name": stack.name, "aws:cloudformation:stack-id": stack.stack_id})
    return result


def _emulated(resource_type: str) -> Any:
    """The class moto would create the type with, looked up now, so models that other modules register
    after import count; a type without one is refused, since moto would fake it."""
    if resource_type in parsing.NULL_MODELS:
        return None
    model = parsing.resource_class_from_type(resource_type)
    if model is None:
        raise StackOperationError(f"The local cloud does not emulate {resource_type}: moto has no model for it, "
                                  "so the resource is refused rather than faked.")
    return model


def _create(stack: Stack, resources: ResourceMap, name: str, capabilities: list[str]) -> Any:
    """Create one resource of `resources` (its dependencies exist already), as moto's ResourceMap.create
    would, EC2 tags included; one the template's transform expands needs the change set's acknowledgement."""
    transforms.check_expanded(template_resources(resources)[name], capabilities)
    _emulated(template_resources(resources)[name]["Type"])
    instance = resources[name]
    if isinstance(instance, TaggedEC2Resource):
        tags = dict(resources.tags, **{"aws:cloudformation:logical-id": name})
        ec2_backends[stack.account_id][stack.region_name].create_tags([instance.physical_resource_id], tags)
    return instance


def resolved_properties(resources: ResourceMap, resource: dict[str, Any]) -> dict[str, Any]:
    """The resource's properties with Ref, Fn::GetAtt, Fn::Sub... resolved against `resources` (by moto's
    clean_json as it is now: other modules may wrap it, e.g. to resolve dynamic references)."""
    return dict(parsing.clean_json(copy.deepcopy(resource.get("Properties") or {}), resources))


def final_snapshot_name(stack: str, logical_id: str) -> str:
    """The name CloudFormation gives the final snapshot a Snapshot policy takes: `<stack>-snapshot-<logical
    id>-<12 random characters>`, lower case (aws-cloudformation-resource-providers-rds, DBInstance's
    DeleteHandler: IdentifierFactory of the stack name and "Snapshot-" + the logical id, with the request
    token's random part)."""
    random = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
    return re.sub("-{2,}", "-", f"{stack}-snapshot-{logical_id}-{random}").strip("-").lower()


def _delete(stack: Stack, resources: ResourceMap, name: str, resource: dict[str, Any], instance: Any,
            policy: str, on_create_rollback: bool = False) -> bool:
    """Delete one resource under `policy` (DeletionPolicy, or UpdateReplacePolicy for a replaced one);
    False when it could not be deleted. Under Snapshot, a resource that can take a final snapshot
    (`delete_with_final_snapshot`: an RDS instance) takes one first, as CloudFormation does, except when a
    failed creation is rolled back (the provider is not asked for a snapshot then); others are deleted."""
    physical = physical_id(instance)
    if policy == "Retain" or (policy == "RetainExceptOnCreate" and not on_create_rollback):
        resource_event(stack, name, resource["Type"], "DELETE_SKIPPED", physical)
        return True
    resource_event(stack, name, resource["Type"], "DELETE_IN_PROGRESS", physical)
    try:
        if policy == "Snapshot" and not on_create_rollback and hasattr(instance, "delete_with_final_snapshot"):
            instance.delete_with_final_snapshot(final_snapshot_name(stack.name, name))
        elif instance is not None:
            delete_created(resources, instance, resource)
    except Exception as error:
        reason = failure_reason(error, resource["Type"])
        resource_event(stack, name, resource["Type"], "DELETE_FAILED", physical, reason)
        return False
    resource_event(stack, name, resource["Type"], "DELETE_COMPLETE", physical)
    return True


def _delete_all(stack: Stack, resources: ResourceMap, names: list[str], on_create_rollback: bool = False) -> list[str]:
    """Delete the named resources of `resources` in that order; the names of those that failed."""
    failed = []
    for name in names:
        resource = template_resources(resources)[name]
        instance = created_resources(resources).pop(name, None)
        if not _delete(stack, resources, name, resource, instance, resource.get("DeletionPolicy", "Delete"),
                       on_create_rollback):
            failed.append(name)
    return failed


def _outputs(stack: Stack, resources: ResourceMap, template: dict[str, Any]) -> OutputMap:
    """The stack's outputs, computed now as AWS computes them when the operation completes."""
    outputs = OutputMap(resources, template, stack.stack_id)
    list(outputs.values())  # OutputMap resolves lazily and keeps what it resolved
    return outputs


def _empty_map(stack: Stack) -> ResourceMap:
    """A map with no resources, for a stack whose creation was rolled back: moto's maps create lazily,
    so the rolled-back one must not stay where a describe could bring its resources back."""
    return resource_map(stack, {}, {})


def _commit(stack: Stack, change_set: ChangeSet, resources: ResourceMap) -> None:
    """Make the change set's template, parameters and resources the stack's."""
    stack.template, stack.template_dict = change_set.template, change_set.template_dict
    stack.description = change_set.template_dict.get("Description")
    stack.parameters = change_set.parameters
    if change_set.tags:
        stack.tags = change_set.tags
    stack.resource_map = resources


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)


def _capabilities(change_set: ChangeSet) -> list[str]:
    """What the change set's creator acknowledged (models.create_change_set keeps it)."""
    return list(getattr(change_set, "capabilities", []))


def _create_in_order(stack: Stack, resources: ResourceMap, capabilities: list[str]) -> tuple[list[str], str | None]:
    """Create every resource, dependencies first, up to the first failure: the names created, and the
    one that failed."""
    created: list[str] = []
    for name in dependency_order(active_resources(resources)):
        resource = template_resources(resources)[name]
        resource_event(stack, name, resource["Type"], "CREATE_IN_PROGRESS", properties=resource.get("Properties"))
        try:
            instance = _create(stack, resources, name, capabilities)
        except Exception as error:
            resource_event(stack, name, resource["Type"], "CREATE_FAILED",
                           reason=failure_reason(error, resource["Type"]))
            return created, name
        created.append(name)
        resource_event(stack, name, resource["Type"], "CREATE_IN_PROGRESS", physical_id(instance),
                       "Resource creation Initiated", resource.get("Properties"))
        resource_event(stack, name, resource["Type"], "CREATE_COMPLETE", physical_id(instance))
    return created, None


def create(stack: Stack, change_set: ChangeSet) -> bool:
    """Execute a CREATE change set on a REVIEW_IN_PROGRESS stack; False when it was rolled back."""
    resources = resource_map(stack, change_set.template_dict, change_set.parameters)
    _commit(stack, change_set, resources)
    stack.output_map = _outputs(stack, _empty_map(stack), {})
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    created, failed = _create_in_order(stack, resources, _capabilities(change_set))
    if failed is None:
        try:
            stack.output_map = _outputs(stack, resources, change_set.template_dict)
        except Exception as error:
            reason = _message(error)
        else:
            stack_event(stack, "CREATE_COMPLETE")
            return True
    else:
        reason = f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
    stack_event(stack, "ROLLBACK_IN_PROGRESS", reason)
    if failed is not None:
        resource_event(stack, failed, template_resources(resources)[failed]["Type"], "DELETE_COMPLETE")
    undeleted = _delete_all(stack, resources, created[::-1], on_create_rollback=True)
    stack.resource_map = _empty_map(stack)
    stack_event(stack, "ROLLBACK_FAILED" if undeleted else "ROLLBACK_COMPLETE",
                f"The following resource(s) failed to delete: [{', '.join(undeleted)}]. " if undeleted else None)
    return False


@dataclass
class _Step:
    """What an update did to one resource, so that a rollback can undo it."""

    kind: str  # "created", "updated" (in place) or "replaced"
    name: str
    previous: Any = None  # the instance before the update (for "updated" and "replaced")
    finished: bool = False  # False for the update that failed, which may have changed nothing


class _Update:
    """One UPDATE change set being executed: the stack's resources before (`old`) and after (`new`)."""

    def __init__(self, stack: Stack, change_set: ChangeSet) -> None:
        self.stack, self.change_set = stack, change_set
        self.old = stack.resource_map
        self.new = resource_map(stack, change_set.template_dict, change_set.parameters)
        self.old_resources, self.new_resources = active_resources(self.old), active_resources(self.new)
        for name in self.old_resources.keys() & self.new_resources.keys():
            if name in created_resources(self.old):
                created_resources(self.new)[name] = created_resources(self.old)[name]
        # The properties as they resolve before anything changes: what each resource is compared against.
        self.before = {name: self._resolved_before(name) for name in self.old_resources}
        self.steps: list[_Step] = []

    def _resolved_before(self, name: str) -> dict[str, Any]:
        try:
            return resolved_properties(self.old, self.old_resources[name])
        except Exception:  # a property moto cannot resolve compares as written
            return dict(self.old_resources[name].get("Properties") or {})

    def _event(self, name: str, status: str, physical: str = "", reason: str | None = None,
               properties: Any = None) -> None:
        resource_event(self.stack, name, self.new_resources[name]["Type"], status, physical, reason, properties)

    def run(self) -> bool:
        """Apply every change; on the first failure roll back. False when rolled back."""
        stack_event(self.stack, "UPDATE_IN_PROGRESS", "User Initiated")
        for name in dependency_order(self.new_resources):
            verb = "UPDATE" if name in self.old_resources else "CREATE"
            try:
                self._apply(name)
            except Exception as error:
                self._event(name, f"{verb}_FAILED", physical_id(created_resources(self.new).get(name)),
                            failure_reason(error, self.new_resources[name]["Type"]))
                self._roll_back(f"The following resource(s) failed to {verb.lower()}: [{name}].",
                                name if verb == "CREATE" else None)
                return False
        try:
            outputs = _outputs(self.stack, self.new, self.change_set.template_dict)
        except Exception as error:
            self._roll_back(_message(error))
            return False
        stack_event(self.stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        self._clean_up()
        _commit(self.stack, self.change_set, self.new)
        self.stack.output_map = outputs
        stack_event(self.stack, "UPDATE_COMPLETE")
        return True

    def _apply(self, name: str) -> None:
        resource = self.new_resources[name]
        properties = resource.get("Properties")
        if name not in self.old_resources:
            self._event(name, "CREATE_IN_PROGRESS", properties=properties)
            instance = _create(self.stack, self.new, name, _capabilities(self.change_set))
            self.steps.append(_Step("created", name))
            self._event(name, "CREATE_IN_PROGRESS", physical_id(instance), "Resource creation Initiated", properties)
            self._event(name, "CREATE_COMPLETE", physical_id(instance))
            return
        before, after = self.before[name], resolved_properties(self.new, resource)
        changed = [key for key in dict.fromkeys([*after, *before])
                   if before.get(key, MISSING) != after.get(key, MISSING)]
        if not changed and all(self.old_resources[name].get(a) == resource.get(a) for a in POLICY_ATTRIBUTES):
            return
        previous = created_resources(self.new).get(name)
        self._event(name, "UPDATE_IN_PROGRESS", physical_id(previous), properties=properties)
        model = _emulated(resource["Type"])
        if any(requires_recreation(resource["Type"], self.stack.region_name, key, before.get(key, MISSING),
                                   after.get(key, MISSING)) == ALWAYS for key in changed):
            self._replace(name, model, before, after, previous)
        elif changed:
            self._update_in_place(name, model, previous)
        self._event(name, "UPDATE_COMPLETE", physical_id(created_resources(self.new).get(name)))

    def _replace(self, name: str, model: Any, before: dict[str, Any], after: dict[str, Any], previous: Any) -> None:
        name_property = model.cloudformation_name_type() if model is not None else None
        custom_name = after.get(name_property) if name_property else None
        if custom_name is not None and name_property and custom_name == before.get(name_property):
            raise StackOperationError("CloudFormation cannot update a stack when a custom-named resource requires "
                                      f"replacing. Rename {custom_name} and update the stack again.")
        self._event(name, "UPDATE_IN_PROGRESS", physical_id(previous), REPLACING)
        created_resources(self.new).pop(name, None)
        try:
            _create(self.stack, self.new, name, _capabilities(self.change_set))
        except Exception:
            created_resources(self.new)[name] = previous
            raise
        self.steps.append(_Step("replaced", name, previous))

    def _update_in_place(self, name: str, model: Any, previous: Any) -> None:
        if model is None or hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
            raise StackOperationError(
                f'Resource handler returned message: "The local cloud cannot update {self.new_resources[name]["Type"]} '
                'in place: moto has no update for this type" (HandlerErrorCode: NotUpdatable)')
        step = _Step("updated", name, previous)
        self.steps.append(step)  # before moto runs: a half-applied update is undone too
        created_resources(self.new)[name] = parsing.parse_and_update_resource(
            name, copy.deepcopy(self.new_resources[name]), self.new, self.stack.account_id, self.stack.region_name)
        step.finished = True

    def _clean_up(self) -> None:
        """After success: delete what was replaced (UpdateReplacePolicy) and what was removed (DeletionPolicy),
        dependants first. A failure here leaves the resource behind without failing the update, as on AWS."""
        for step in reversed(self.steps):
            if step.kind == "replaced":
                old = self.old_resources[step.name]
                _delete(self.stack, self.old, step.name, old, step.previous, old.get("UpdateReplacePolicy", "Delete"))
        removed = [name for name in dependency_order(self.old_resources) if name not in self.new_resources]
        _delete_all(self.stack, self.old, removed[::-1])

    def _roll_back(self, reason: str, failed_creation: str | None = None) -> None:
        """Put every resource back as it was, then delete what the update created (and, as AWS reports
        it, the resource that failed to be created): the stack keeps its previous template, parameters,
        resources and outputs."""
        stack_event(self.stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        failed = []
        for step in reversed(self.steps):
            current = created_resources(self.new).get(step.name)
            if step.kind == "updated":
                self._event(step.name, "UPDATE_IN_PROGRESS", physical_id(current))
                created_resources(self.old)[step.name] = current
                try:
                    created_resources(self.old)[step.name] = parsing.parse_and_update_resource(
                        step.name, copy.deepcopy(self.old_resources[step.name]), self.old,
                        self.stack.account_id, self.stack.region_name)
                except Exception as error:
                    if step.finished:  # an update that was applied and cannot be undone
                        self._event(step.name, "UPDATE_FAILED", physical_id(current),
                                    failure_reason(error, self.new_resources[step.name]["Type"]))
                        failed.append(step.name)
                        continue
                    created_resources(self.old)[step.name] = step.previous  # the failed update, refused again
            if step.kind in ("updated", "replaced"):
                self._event(step.name, "UPDATE_COMPLETE", physical_id(created_resources(self.old).get(step.name)))
        stack_event(self.stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        if failed_creation is not None:
            self._event(failed_creation, "DELETE_COMPLETE")
        for step in reversed(self.steps):
            if step.kind in ("created", "replaced"):
                instance = created_resources(self.new).get(step.name)
                resource = self.new_resources[step.name]
                if not _delete(self.stack, self.new, step.name, resource, instance, "Delete"):
                    failed.append(step.name)
        # The stack's output map still holds the values it had: the update never replaced it.
        stack_event(self.stack, "UPDATE_ROLLBACK_FAILED" if failed else "UPDATE_ROLLBACK_COMPLETE")


def update(stack: Stack, change_set: ChangeSet) -> bool:
    """Execute an UPDATE change set; False when it was rolled back."""
    return _Update(stack, change_set).run()


def delete(stack: Stack) -> bool:
    """Delete the stack's resources, dependants first, with their events; False (DELETE_FAILED) when one
    could not be deleted, and the stack stays, as on AWS."""
    stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    resources = stack.resource_map
    names = [name for name in dependency_order(active_resources(resources)) if name in created_resources(resources)]
    undeleted = _delete_all(stack, resources, names[::-1])
    if undeleted:
        stack_event(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(undeleted)}]. ")
        return False
    stack_event(stack, "DELETE_COMPLETE")
    return True
