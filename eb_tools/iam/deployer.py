"""The deployer's statements: what `deploy`, `promote`, `rollback`, `status`, `versions` and `logs` call on a
stage, and nothing else (CI's policy).

Each statement names the calls that need it. Actions and the resources each is judged on: the Service
Authorization Reference's pages for Elastic Beanstalk (CreateStorageLocation has no resource type, so "*"),
S3, CloudWatch Logs, CloudFormation and SES. `environment_updates` is what Elastic Beanstalk does with the
caller's permissions while it updates an environment ("Elastic Beanstalk uses user permissions to launch
resources in an environment", Elastic Beanstalk Developer Guide, "Elastic Beanstalk user policy"): its
awseb-e-* stacks, their Auto Scaling groups and load balancers, and its bucket's working files.
"""
from __future__ import annotations

from typing import Any

from eb_tools.iam.scope import Scope

EB_READS = ["elasticbeanstalk:DescribeApplications", "elasticbeanstalk:DescribeApplicationVersions",
            "elasticbeanstalk:DescribeEnvironments", "elasticbeanstalk:DescribeEvents",
            "elasticbeanstalk:DescribeConfigurationSettings", "elasticbeanstalk:DescribeEnvironmentHealth",
            "elasticbeanstalk:DescribeInstancesHealth", "elasticbeanstalk:DescribeConfigurationOptions"]


def statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def statements(scope: Scope) -> list[dict[str, Any]]:
    app, bucket = scope.application, scope.arn("s3", scope.storage_bucket)
    records = f"{bucket}/eb_tools/{app}"
    environments = [scope.arn("elasticbeanstalk", f"environment/{app}/{name}") for name in scope.environments]
    return [
        # every verb: the application's versions and environments (versions --prune reads every stage's)
        statement("ReadTheApplication", EB_READS, [
            scope.arn("elasticbeanstalk", f"application/{app}"),
            scope.arn("elasticbeanstalk", f"applicationversion/{app}/*"),
            scope.arn("elasticbeanstalk", f"environment/{app}/*")]),
        statement("FindTheStorageBucket", ["elasticbeanstalk:CreateStorageLocation"], ["*"]),
        # deploy registers a label; versions --prune deletes labels no stage runs or may roll back to
        statement("RegisterVersions", ["elasticbeanstalk:CreateApplicationVersion",
                                       "elasticbeanstalk:DeleteApplicationVersion"],
                  [scope.arn("elasticbeanstalk", f"applicationversion/{app}/*")]),
        # deploy, promote, rollback: both tiers updated, aborted on failure, a blue/green swap
        statement("ReleaseTheStage", ["elasticbeanstalk:UpdateEnvironment",
                                      "elasticbeanstalk:AbortEnvironmentUpdate",
                                      "elasticbeanstalk:SwapEnvironmentCNAMEs"], environments),
        # bundles under APPLICATION/, and the toolkit's records (release lock, history) of every stage read,
        # this stage's written
        statement("ReadBundlesAndRecords", ["s3:GetObject"], [f"{bucket}/{app}/*", f"{records}/*"]),
        statement("WriteBundles", ["s3:PutObject", "s3:DeleteObject"], [f"{bucket}/{app}/*"]),
        statement("WriteTheStageRecords", ["s3:PutObject", "s3:DeleteObject"], [f"{records}/{scope.stage.name}/*"]),
        # a missing record is 404 (not 403) only with ListBucket (S3 API reference, GetObject)
        statement("ListTheStorageBucket", ["s3:ListBucket"], [bucket]),
        # status reads the stage's stack outputs; a promote its source stage's too
        statement("ReadTheApplicationsStacks", ["cloudformation:DescribeStacks"],
                  [scope.arn("cloudformation", f"stack/{app}-*/*")]),
        statement("FindLogGroups", ["logs:DescribeLogGroups"], [scope.arn("logs", "log-group:*")]),
        statement("ReadTheStageLogs", ["logs:FilterLogEvents"],
                  [scope.arn("logs", f"log-group:/aws/elasticbeanstalk/{name}/*") for name in scope.environments]),
        statement("ReadTheAccountsMail", ["ses:GetAccount"], ["*"]),
        statement("ReadTheStageMailIdentity", ["ses:GetEmailIdentity"],
                  [scope.arn("ses", f"identity/{scope.stage.mail.identity_name}")]),
        *environment_updates(scope),
    ]


def environment_updates(scope: Scope) -> list[dict[str, Any]]:
    """What EB calls with the deployer's permissions while it updates an environment (module docstring)."""
    return [
        statement("UpdateTheEnvironmentsStacks", [
            "cloudformation:GetTemplate", "cloudformation:UpdateStack", "cloudformation:CancelUpdateStack",
            "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStackResource", "cloudformation:DescribeStackResources"],
                  [scope.arn("cloudformation", "stack/awseb-e-*")]),
        # Describe* of these services take no resource (Service Authorization Reference): "*"
        statement("DescribeTheEnvironmentsInstances", ["autoscaling:Describe*", "ec2:Describe*",
                                                       "elasticloadbalancing:Describe*"], ["*"]),
        statement("ScaleTheEnvironmentsGroups", [
            "autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses", "autoscaling:UpdateAutoScalingGroup",
            "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                  [scope.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/awseb-e-*")]),
        statement("RegisterTheEnvironmentsTargets", ["elasticloadbalancing:RegisterTargets",
                                                     "elasticloadbalancing:DeregisterTargets"],
                  [scope.arn("elasticloadbalancing", "targetgroup/awseb-*")]),
        statement("WriteTheEnvironmentsWorkingFiles", ["s3:GetObject", "s3:PutObject", "s3:GetObjectAcl",
                                                       "s3:PutObjectAcl"],
                  [f"{scope.arn('s3', scope.storage_bucket)}/resources/*"]),
    ]
