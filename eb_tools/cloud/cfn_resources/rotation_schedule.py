"""AWS::SecretsManager::RotationSchedule with a HostedRotationLambda, which moto's CloudFormation skips.

In AWS the AWS::SecretsManager transform turns HostedRotationLambda into a Lambda function built from AWS's
rotation templates, in a nested stack, and the schedule into RotateSecret with that function and the rules
(cfn_stacks/transforms.py checks the transform and its acknowledgement). Here the local Secrets Manager runs
the hosted function itself (secret_rotation.py, rotation_function.py): the secret shows RotationEnabled, the
function's ARN, RotationRules and NextRotationDate in DescribeSecret, and rotates for real.

Applied: RotationType MariaDBSingleUser and MySQLSingleUser, RotationLambdaName, ExcludeCharacters,
VpcSubnetIds and VpcSecurityGroupIds (comma-separated; each must exist, as the function's VPC configuration
needs them: the local cloud has no network between its servers to apply them to), RotationRules'
AutomaticallyAfterDays (1 to 1000, Secrets Manager's range), RotateImmediatelyOnUpdate (default true:
CloudFormation rotates when it creates or updates the schedule). Refused: a function of the caller's own
(RotationLambdaARN: the local cloud runs no Lambda code), other rotation types, ScheduleExpression, Duration
and the KMS and multi-user properties. Ref and GetAtt Id are the secret's ARN.
"""
from __future__ import annotations

from typing import Any

from eb_tools.cloud import secret_rotation
from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, refuse
from eb_tools.cloud.moto_internals import ec2_backends, secretsmanager_backends
from eb_tools.cloud.rotation_function import DEFAULT_EXCLUDED, ENGINES, HostedFunction

SCHEDULE = "AWS::SecretsManager::RotationSchedule"
HOSTED = frozenset({"RotationType", "RotationLambdaName", "ExcludeCharacters", "VpcSubnetIds", "VpcSecurityGroupIds"})
FUNCTION_NAME_LIMIT = 64


class RotationSchedule(Handler):
    type_name = SCHEDULE
    properties = frozenset({"SecretId", "HostedRotationLambda", "RotationLambdaARN", "RotationRules",
                            "RotateImmediatelyOnUpdate"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        backend = place.backend(secretsmanager_backends)
        secret = backend.describe_secret(cls.required(properties, "SecretId"))
        function, days = _function(name, properties, place), _days(properties)
        secret_rotation.configure(backend, secret.arn, function, days,
                                  flag(properties.get("RotateImmediatelyOnUpdate", True)))
        return Resource(cls, secret.arn, place, {"Id": secret.arn})

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        """New rules or function for the same secret (SecretId is create-only: a new one replaces the schedule)."""
        return cls.create(name, properties, resource.place)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        secret_rotation.cancel(resource.place.backend(secretsmanager_backends), resource.physical_resource_id)


def _function(name: str, properties: dict[str, Any], place: Place) -> HostedFunction:
    if "RotationLambdaARN" in properties or "HostedRotationLambda" not in properties:
        refuse(SCHEDULE, "only a HostedRotationLambda is emulated: the local cloud runs no Lambda code of its own")
    hosted = checked(properties["HostedRotationLambda"], HOSTED, SCHEDULE, "HostedRotationLambda",
                     required={"RotationType"})
    if hosted["RotationType"] not in ENGINES:
        refuse(SCHEDULE, f"RotationType {hosted['RotationType']} is not emulated (only {', '.join(ENGINES)})")
    ec2 = place.backend(ec2_backends)
    for subnet in _listed(hosted.get("VpcSubnetIds")):
        ec2.get_subnet(subnet)  # InvalidSubnetID.NotFound, as EC2 answers
    for group in _listed(hosted.get("VpcSecurityGroupIds")):
        if ec2.get_security_group_from_id(group) is None:
            refuse(SCHEDULE, f"HostedRotationLambda.VpcSecurityGroupIds: no security group {group}")
    function = str(hosted.get("RotationLambdaName") or name)[:FUNCTION_NAME_LIMIT]
    return HostedFunction(function, f"arn:{place.partition}:lambda:{place.region}:{place.account_id}:function:"
                                    f"{function}", str(hosted["RotationType"]),
                          str(hosted.get("ExcludeCharacters", DEFAULT_EXCLUDED)))


def _listed(value: Any) -> list[str]:
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


def _days(properties: dict[str, Any]) -> int:
    rules = checked(properties.get("RotationRules", {}), {"AutomaticallyAfterDays"}, SCHEDULE, "RotationRules",
                    required={"AutomaticallyAfterDays"})
    days = int(rules["AutomaticallyAfterDays"])
    if not 1 <= days <= 1000:
        refuse(SCHEDULE, "RotationRules.AutomaticallyAfterDays must be within 1-1000.")
    return days


HANDLERS: tuple[type[Handler], ...] = (RotationSchedule,)
