"""Wire format of the change-set operations that differ from moto's, and of drift detection, which it lacks:
each reads the request's parameters, makes one call to models.py (drift.py) and answers in moto's
ActionResult; CreateStack and UpdateStack are moto's, after the checks moto lacks (transforms). Installed on
moto's CloudFormationResponse by `register()`."""
from __future__ import annotations

from eb_tools.cloud.cfn_stacks import drift, models
from eb_tools.cloud.moto_internals import (
    TYPE_RESPONSE,
    ActionResult,
    CloudFormationResponse,
    EmptyResult,
    template_from_s3,
    validate_create_change_set,
)


def create_change_set(self: CloudFormationResponse) -> ActionResult:
    name = self._get_param("ChangeSetName")
    validate_create_change_set(name)  # moto's checks of the request, in moto's order
    self.validate_template_and_stack_body()
    request = models.ChangeSetRequest(
        stack_name=self._get_param("StackName"), name=name, kind=self._get_param("ChangeSetType", "CREATE"),
        template_body=self._get_param("TemplateBody"), template_url=self._get_param("TemplateURL"),
        use_previous_template=self._get_bool_param("UsePreviousTemplate", False),
        parameters=self._get_param("Parameters", []), capabilities=self._get_param("Capabilities", []),
        tags={item["Key"]: item["Value"] for item in self._get_param("Tags", [])},
        notification_arns=self._get_param("NotificationARNs", []), role_arn=self._get_param("RoleARN"),
        description=self._get_param("Description"))
    change_set = models.create_change_set(self.cloudformation_backend, request,
                                          lambda url: template_from_s3(self, url))
    return ActionResult({"Id": change_set.change_set_id, "StackId": change_set.stack_id})


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    return ActionResult(models.find_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"),
                                               self._get_param("StackName")))


def delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    models.delete_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"),
                             self._get_param("StackName"))
    return EmptyResult()


def list_change_sets(self: CloudFormationResponse) -> ActionResult:
    return ActionResult({"Summaries": models.list_change_sets(self.cloudformation_backend,
                                                              self._get_param("StackName"))})


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    models.execute_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"),
                              self._get_param("StackName"))
    return EmptyResult()


def detect_stack_drift(self: CloudFormationResponse) -> ActionResult:
    return ActionResult({"StackDriftDetectionId": drift.detect(
        self.cloudformation_backend, self._get_param("StackName"), self._get_param("LogicalResourceIds", []))})


def describe_stack_drift_detection_status(self: CloudFormationResponse) -> ActionResult:
    return ActionResult(drift.status(self.cloudformation_backend, self._get_param("StackDriftDetectionId")))


def describe_stack_resource_drifts(self: CloudFormationResponse) -> ActionResult:
    """Every drift in one page: a stage's stacks hold a few dozen resources (MaxResults is at most 100)."""
    return ActionResult({"StackResourceDrifts": drift.resource_drifts(
        self.cloudformation_backend, self._get_param("StackName"),
        self._get_param("StackResourceDriftStatusFilters", []))})


_MOTO_CREATE_STACK, _MOTO_UPDATE_STACK = CloudFormationResponse.create_stack, CloudFormationResponse.update_stack


def _checked_template(self: CloudFormationResponse) -> None:
    """The submitted template's transforms and their acknowledgement (models.check_stack_request)."""
    body = self._get_param("TemplateBody")
    if self._get_param("TemplateURL") and not body:
        body = template_from_s3(self, self._get_param("TemplateURL"))
    if body:
        models.check_stack_request(body, self._get_param("Capabilities", []))


def create_stack(self: CloudFormationResponse) -> TYPE_RESPONSE | ActionResult:
    _checked_template(self)
    return _MOTO_CREATE_STACK(self)


def update_stack(self: CloudFormationResponse) -> TYPE_RESPONSE | ActionResult:
    _checked_template(self)
    return _MOTO_UPDATE_STACK(self)


RESPONSES = {"create_stack": create_stack, "update_stack": update_stack, "create_change_set": create_change_set,
             "describe_change_set": describe_change_set, "delete_change_set": delete_change_set,
             "list_change_sets": list_change_sets, "execute_change_set": execute_change_set}
ADDED = {"detect_stack_drift": detect_stack_drift,  # operations moto lacks
         "describe_stack_drift_detection_status": describe_stack_drift_detection_status,
         "describe_stack_resource_drifts": describe_stack_resource_drifts}
