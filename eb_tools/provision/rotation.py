"""The database secret's rotation schedule: Secrets Manager's hosted single-user rotation, in the stage's VPC.

`AWS::SecretsManager::RotationSchedule` with `HostedRotationLambda` makes CloudFormation build the rotation
function from AWS's own templates (aws-samples/aws-secrets-manager-rotation-lambdas), in a nested stack the
`AWS::SecretsManager` transform expands (CloudFormation template reference, "AWS::SecretsManager transform";
the HostedRotationLambda page names AWS::SecretsManager-2024-09-16, whose functions are upgraded with the
stack; a template declaring it must be deployed with CAPABILITY_AUTO_EXPAND, stacks.py). The function type
follows the engine: the MySQL function refuses a secret whose `engine` is not 'mysql', and the MariaDB one
one that is not 'mariadb' (each template's get_secret_dict), so a MariaDB database rotates with
MariaDBSingleUser (aws-cdk, HostedRotationType). Single user: the function logs in as the master user and
sets its own password, which a read replica takes through replication; RDS's own managed password is
refused on a source with read replicas (data_stores.py).

The function reads the database's address from the secret: a SecretTargetAttachment adds engine, host, port
and dbInstanceIdentifier to it ("JSON structure of Secrets Manager secrets"). It runs in the private subnets
with a security group of its own (security_groups.rotation_function), and reaches Secrets Manager through NAT
or, without NAT, the network's interface endpoint (network.py).
"""
from __future__ import annotations

from troposphere import GetAtt, Join, Ref, Template
from troposphere.ec2 import SecurityGroup
from troposphere.secretsmanager import HostedRotationLambda, RotationRules, RotationSchedule, SecretTargetAttachment

from eb_tools.provision import security_groups
from eb_tools.provision.data_stores import EXCLUDED_CHARACTERS, DatabaseParts
from eb_tools.stage_file import Stage

TRANSFORM = "AWS::SecretsManager-2024-09-16"
ROTATION_TYPES = {"mariadb": "MariaDBSingleUser", "mysql": "MySQLSingleUser"}
FUNCTION_NAME_LIMIT = 64  # Lambda's FunctionName


def function_name(application: str, stage: str) -> str:
    """The rotation function's name: its logs are CloudWatch Logs group /aws/lambda/<name>."""
    return f"{application}-{stage}-db-rotation"[:FUNCTION_NAME_LIMIT]


def build(template: Template, stage: Stage, database: DatabaseParts, database_group: SecurityGroup, vpc: Ref,
          subnets: Ref) -> RotationSchedule | None:
    """The schedule (with the attachment and the function's security group) when the stage file asks for one."""
    if stage.database is None or not stage.database.rotates:
        return None
    template.set_transform(TRANSFORM)
    group = security_groups.rotation_function(template, vpc, database_group)
    attachment = template.add_resource(SecretTargetAttachment(
        "DatabaseCredentialsAttachment", SecretId=Ref(database.credentials), TargetId=Ref(database.writer),
        TargetType="AWS::RDS::DBInstance"))
    return template.add_resource(RotationSchedule(
        "DatabaseRotationSchedule", SecretId=Ref(database.credentials), DependsOn=[attachment.title],
        HostedRotationLambda=HostedRotationLambda(
            RotationType=ROTATION_TYPES[stage.database.engine],
            RotationLambdaName=function_name(stage.application, stage.name),
            ExcludeCharacters=EXCLUDED_CHARACTERS,  # as the secret was generated: RDS refuses / @ " in a password
            VpcSubnetIds=Join(",", subnets), VpcSecurityGroupIds=GetAtt(group, "GroupId")),
        RotationRules=RotationRules(AutomaticallyAfterDays=stage.database.rotation_days),
        # False, deliberately: CloudFormation would otherwise rotate when the schedule is created and again at
        # every update that touches it, in the middle of a provision, while the stage's database was just
        # given this secret's password anyway; Secrets Manager then only tests the function (its testSecret
        # step, RotateSecret's RotateImmediately), and the first rotation comes when the schedule falls due
        # or with `eb_tools secrets rotate STAGE database`.
        RotateImmediatelyOnUpdate=False))
