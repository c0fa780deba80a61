"""The change-set and stack operations that differ from moto's, on moto's CloudFormationBackend: AWS's checks,
errors and state changes (responses.py only translates requests into these calls).

Beyond the execution itself (execution.py): a change set is found by stack and name (moto takes the last of
that name in the region, whatever its stack); the template is checked when the change set is created, as
AWS checks it (unknown types, transforms, missing IAM capabilities, cycles, parameters); a CREATE change set for a stack
that exists, or an UPDATE of a stack that cannot be updated, is refused with AWS's words; an unchanged
UPDATE is a FAILED change set, not moto's "No updates are to be performed." error; executing a change set
makes the stack's others OBSOLETE.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eb_tools.cloud.cfn_stacks import execution, transforms
from eb_tools.cloud.cfn_stacks.changes import Side, parameter_values, resource_changes
from eb_tools.cloud.cfn_stacks.events import physical_id, stack_event
from eb_tools.cloud.cfn_stacks.schema import is_known
from eb_tools.cloud.cfn_stacks.template import active_resources, dependency_order
from eb_tools.cloud.moto_internals import (
    ChangeSet,
    CloudFormationBackend,
    CloudFormationError,
    ResourceMap,
    Stack,
    ValidationError,
    created_resources,
    generate_changeset_id,
    generate_stack_id,
)

# The states from which AWS lets a stack be updated.
UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
             "IMPORT_ROLLBACK_COMPLETE"}
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
# IAM types that need CAPABILITY_IAM, and the properties that name them (which need CAPABILITY_NAMED_IAM).
IAM_TYPES = {"AWS::IAM::AccessKey", "AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy",
             "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::UserToGroupAddition"}
IAM_NAMES = {"GroupName", "InstanceProfileName", "ManagedPolicyName", "RoleName", "UserName"}


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


@dataclass(frozen=True)
class ChangeSetRequest:
    """What CreateChangeSet asks for: the template by body, by URL, or the stack's previous one; `parameters`
    as the API lists them (UsePreviousValue included)."""

    stack_name: str
    name: str
    kind: str
    template_body: str | None = None
    template_url: str | None = None
    use_previous_template: bool = False
    parameters: list[dict[str, Any]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    notification_arns: list[str] = field(default_factory=list)
    role_arn: str | None = None
    description: str | None = None


def find_stack(backend: CloudFormationBackend, name_or_id: str) -> Stack | None:
    """The live stack of that name or id."""
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((stack for stack in backend.stacks.values() if stack.name == name_or_id), None)


def find_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> ChangeSet:
    """A change set by ARN, or by name within the named stack, with AWS's errors."""
    if name in backend.change_sets:
        return backend.change_sets[name]
    if name.startswith("arn:"):
        raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")
    if not stack_name:
        raise ValidationError(message="StackName must be specified if ChangeSetName is not specified as an ARN.")
    stack = find_stack(backend, stack_name)
    if stack is None:
        raise ValidationError(message=f"Stack [{stack_name}] does not exist")
    found = [cs for cs in backend.change_sets.values() if cs.change_set_name == name and cs.stack_id == stack.stack_id]
    if not found:
        raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")
    return found[-1]


def _check_capabilities(resources: dict[str, dict[str, Any]], capabilities: list[str]) -> None:
    """AWS refuses IAM resources unless the caller acknowledges them, and named ones need the stronger
    acknowledgement."""
    iam = [resource for resource in resources.values() if resource.get("Type") in IAM_TYPES]
    if any(IAM_NAMES & set(resource.get("Properties") or {}) for resource in iam):
        needed = "CAPABILITY_NAMED_IAM"
    elif iam:
        needed = "CAPABILITY_IAM"
    else:
        return
    if needed not in capabilities and "CAPABILITY_NAMED_IAM" not in capabilities:
        raise InsufficientCapabilities(f"Requires capabilities : [{needed}]")


def _check_template(template: Any, parameters: dict[str, Any], capabilities: list[str], region: str) -> None:
    """What AWS checks in a submitted template before it plans anything."""
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    transforms.check(template)
    unknown = sorted({str(resource.get("Type")) for resource in template["Resources"].values()
                      if not is_known(str(resource.get("Type")), region)})
    if unknown:
        raise ValidationError(message=f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")
    undeclared = sorted(set(parameters) - set(template.get("Parameters") or {}))
    if undeclared:
        raise ValidationError(message=f"Parameters: [{', '.join(undeclared)}] do not exist in the template")
    _check_capabilities(template["Resources"], capabilities)


def check_stack_request(body: Any, capabilities: list[str]) -> None:
    """What CreateStack and UpdateStack check beyond moto: the template's transforms, and that the caller
    acknowledged them (a change set is checked when it is created, and when it runs: execution.py)."""
    template = Stack.parse_template(body)
    transforms.check(template)
    if not transforms.acknowledged(template, capabilities):
        raise InsufficientCapabilities(transforms.REQUIRES)


def _parameters(given: list[dict[str, Any]], previous: dict[str, str]) -> dict[str, str]:
    """The submitted parameters; UsePreviousValue takes the value the stack was given, and one it never
    was given (it took its default) is left out, so the default applies again."""
    result = {}
    for parameter in given:
        key = parameter["ParameterKey"]
        if not parameter.get("UsePreviousValue"):
            result[key] = parameter["ParameterValue"]
        elif key in previous:
            result[key] = previous[key]
    return result


def _review_stack(backend: CloudFormationBackend, request: ChangeSetRequest, parameters: dict[str, Any]) -> Stack:
    """The stack a CREATE change set brings into being: REVIEW_IN_PROGRESS, no template yet."""
    stack_id = generate_stack_id(request.stack_name, backend.region_name, backend.account_id)
    return Stack(  # type: ignore[abstract]  # moto's own Stack, made as moto's create_change_set makes it
        stack_id=stack_id, name=request.stack_name, template={}, parameters=parameters,
        account_id=backend.account_id, region_name=backend.region_name, notification_arns=request.notification_arns,
        tags=request.tags, role_arn=request.role_arn)


def _check_state(stack: Stack | None, kind: str, stack_name: str, change_set_name: str) -> None:
    """AWS's refusals of a change set for the stack as it stands."""
    if kind == "UPDATE":
        if stack is None:
            raise ValidationError(message=f"Stack [{stack_name}] does not exist")
        if stack.status not in UPDATABLE:
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    elif kind == "CREATE":
        if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(message=f"Stack [{stack_name}] already exists and cannot be created again "
                                          f"with the changeSet [{change_set_name}].")
    else:
        raise ValidationError(message=f"The local cloud does not emulate change sets of type {kind}.")


def _describe(change_set: ChangeSet, stack: Stack, planned: ResourceMap) -> None:
    """Give the change set AWS's Changes, and fail it as AWS does when nothing would change."""
    current = stack.resource_map
    before, after = parameter_values(current.resolved_parameters), parameter_values(planned.resolved_parameters)
    change_set.changes = resource_changes(  # type: ignore[assignment]  # AWS's shape instead of moto's Change
        Side(active_resources(current), before,
             {key: physical_id(value) for key, value in created_resources(current).items()}),
        Side(active_resources(planned), after), stack.region_name)
    # The stack's template parsed afresh: moto's parsing writes into the one it holds.
    unchanged = change_set.change_set_type == "UPDATE" and before == after \
        and change_set.template_dict == Stack.parse_template(str(stack.template))
    change_set.status, change_set.execution_status = ("FAILED", "UNAVAILABLE") if unchanged \
        else ("CREATE_COMPLETE", "AVAILABLE")
    change_set.status_reason = NO_CHANGES if unchanged else None


def create_change_set(backend: CloudFormationBackend, request: ChangeSetRequest,
                      read_template_url: Callable[[str], str]) -> ChangeSet:
    """CreateChangeSet, checked and described as AWS does; a CREATE one brings its stack into being.
    `read_template_url` reads a TemplateURL's object (once the stack's state allows the change set)."""
    stack = find_stack(backend, request.stack_name)
    _check_state(stack, request.kind, request.stack_name, request.name)
    body: Any = request.template_body  # a text, or the dict moto holds for a stack's template
    if request.template_url:
        body = read_template_url(request.template_url)
    elif request.use_previous_template and stack is not None:
        body = stack.template
    parameters = _parameters(request.parameters, stack.parameters if stack is not None else {})
    _check_template(Stack.parse_template(body), parameters, request.capabilities, backend.region_name)
    new_stack = stack is None
    if stack is None:
        stack = _review_stack(backend, request, parameters)
    change_set = ChangeSet(change_set_type=request.kind,
                           change_set_id=generate_changeset_id(request.name, backend.region_name, backend.account_id),
                           change_set_name=request.name, stack=stack, template=body, parameters=parameters,
                           description=request.description,  # type: ignore[arg-type]  # None: moto's own too
                           notification_arns=request.notification_arns,
                           tags=request.tags, role_arn=request.role_arn)
    planned = execution.resource_map(stack, change_set.template_dict, parameters)
    dependency_order(active_resources(planned))  # refuses a cycle now, as AWS does
    _describe(change_set, stack, planned)
    change_set.capabilities = request.capabilities  # type: ignore[attr-defined]  # DescribeChangeSet's; moto has none
    if new_stack:
        backend.stacks[stack.stack_id] = stack
        stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")
    backend.change_sets[change_set.change_set_id] = change_set
    return change_set


def delete_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> None:
    change_set = find_change_set(backend, name, stack_name)
    del backend.change_sets[change_set.change_set_id]


def list_change_sets(backend: CloudFormationBackend, stack_name: str) -> list[ChangeSet]:
    """The change sets of the named stack only (moto lists the region's)."""
    stack = find_stack(backend, stack_name)
    if stack is None:
        raise ValidationError(message=f"Stack [{stack_name}] does not exist")
    return [cs for cs in backend.change_sets.values() if cs.stack_id == stack.stack_id]


def execute_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> None:
    """ExecuteChangeSet: runs the whole operation before answering (the stack is already in its final
    state when the caller first looks; callers wait on the status as they must on AWS)."""
    change_set = find_change_set(backend, name, stack_name)
    if change_set.status != "CREATE_COMPLETE":
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]")
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                                     f"execution status of [{change_set.execution_status}]")
    stack = backend.stacks[change_set.stack_id]
    for other in backend.change_sets.values():
        if other.stack_id == stack.stack_id and other is not change_set and other.execution_status == "AVAILABLE":
            other.execution_status = "OBSOLETE"
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    stack.change_set_id = change_set.change_set_id  # type: ignore[attr-defined]  # describe_stacks' ChangeSetId
    run = execution.create if change_set.change_set_type == "CREATE" else execution.update
    succeeded = run(stack, change_set)
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"
    if succeeded:
        _drop_exports(backend, stack)
        backend.exports.update({export.name: export for export in stack.exports})


def _drop_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    for name in [name for name, export in backend.exports.items() if export.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    """DeleteStack with an event per resource; a stack whose resources cannot all be deleted stays
    (DELETE_FAILED). Deleting a stack that does not exist succeeds, as on AWS. Installed as moto's
    CloudFormationBackend.delete_stack."""
    stack = find_stack(self, name_or_stack_id)
    if stack is None or not execution.delete(stack):
        return
    _drop_exports(self, stack)
    for change_set_id in [key for key, cs in self.change_sets.items() if cs.stack_id == stack.stack_id]:
        del self.change_sets[change_set_id]
    del self.stacks[stack.stack_id]
    self.deleted_stacks[stack.stack_id] = stack


def parameter_list(stack: Stack) -> list[dict[str, Any]]:
    """DescribeStacks' Parameters as AWS gives them: a list parameter (CommaDelimitedList, List<...>) as the
    comma-separated string it was given, where moto gave Python's repr of the list (which, passed back, reads as
    other values and changes what uses it); a NoEcho parameter masked."""
    hidden = stack.resource_map.no_echo_parameter_keys
    return [{"ParameterKey": key, "ParameterValue": "****" if key in hidden else
             ",".join(value) if isinstance(value, list) else value}
            for key, value in stack.resource_map.resolved_parameters.items()]
