"""The provisioner's statements: what `provision STAGE` calls, and what the stage's stacks create with the
caller's permissions (CloudFormation acts with them unless given a service role: CloudFormation User Guide,
"CloudFormation service role").

Direct calls: change sets on the stage's two stacks; the EB application and the stage's environments;
iam:PassRole of the stage stack's roles to EB (the environments' service role and instance profile). What the
stacks create is scoped by the names CloudFormation generates for them, STACK-LogicalId-SUFFIX (IAM roles and
instance profiles, SQS queues, SNS topics, S3 buckets in lower case), where the Service Authorization
Reference's ARN formats carry a name; resources named by generated ids (EC2's, RDS's, ElastiCache's),
secrets, alarms, SES identities and CloudFront distributions are "*".
"""
from __future__ import annotations

from typing import Any

from eb_tools.iam.deployer import statement
from eb_tools.iam.scope import Scope

STACK_CALLS = ["cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
               "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:ListChangeSets",
               "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
               "cloudformation:DescribeStackResources", "cloudformation:ListStackResources",
               "cloudformation:GetTemplate"]
EB_CALLS = ["elasticbeanstalk:CreateApplication", "elasticbeanstalk:DescribeApplications",
            "elasticbeanstalk:CreateEnvironment", "elasticbeanstalk:UpdateEnvironment",
            "elasticbeanstalk:DescribeEnvironments", "elasticbeanstalk:DescribeEvents",
            "elasticbeanstalk:DescribeConfigurationSettings", "elasticbeanstalk:DescribeEnvironmentResources",
            "elasticbeanstalk:DescribeApplicationVersions"]
ROLE_CALLS = ["iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole",
              "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
              "iam:DetachRolePolicy", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile",
              "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"]
UNNAMED = ["ec2:*", "rds:*", "elasticache:*", "secretsmanager:*", "cloudwatch:*", "ses:*", "cloudfront:*",
           "lambda:*", "kms:DescribeKey", "acm:DescribeCertificate"]


def statements(scope: Scope) -> list[dict[str, Any]]:
    app, prefix = scope.application, scope.stack_prefix
    return [
        statement("ChangeTheStageStacks", STACK_CALLS, scope.stacks),
        statement("ValidateTemplates", ["cloudformation:ValidateTemplate"], ["*"]),
        statement("CreateTheStageEnvironments", EB_CALLS, [
            scope.arn("elasticbeanstalk", f"application/{app}"),
            scope.arn("elasticbeanstalk", f"applicationversion/{app}/*"),
            *[scope.arn("elasticbeanstalk", f"environment/{app}/{name}") for name in scope.environments]]),
        # no resource types (Service Authorization Reference, Elastic Beanstalk); the platform is EB's own
        statement("ReadPlatforms", ["elasticbeanstalk:ListPlatformVersions", "elasticbeanstalk:CheckDNSAvailability",
                                    "elasticbeanstalk:CreateStorageLocation",
                                    "elasticbeanstalk:DescribeConfigurationOptions"], ["*"]),
        statement("PassTheStageRoles", ["iam:PassRole"], [scope.arn("iam", f"role/{prefix}*", regional=False)]),
        statement("MakeTheStageRoles", ROLE_CALLS, [scope.arn("iam", f"role/{prefix}*", regional=False),
                                                    scope.arn("iam", f"instance-profile/{prefix}*", regional=False)]),
        statement("MakeTheStageQueuesAndTopics", ["sqs:*", "sns:*"],
                  [scope.arn("sqs", f"{prefix}*"), scope.arn("sns", f"{prefix}*")]),
        statement("MakeTheStageBuckets", ["s3:*"], [scope.arn("s3", f"{prefix.lower()}*")]),
        statement("MakeTheStageUnnamedResources", UNNAMED, ["*"]),
    ]
