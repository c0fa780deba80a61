"""The names and ARNs a stage's policies are scoped to, from its stage-file entry.

ARN formats from the Service Authorization Reference ("Actions, resources, and
condition keys for" Elastic Beanstalk, CloudFormation, S3, CloudWatch Logs, IAM,
SES): elasticbeanstalk:REGION:ACCOUNT:environment/APPLICATION/NAME,
cloudformation:REGION:ACCOUNT:stack/NAME/ID, s3:::BUCKET/KEY,
logs:REGION:ACCOUNT:log-group:NAME, iam::ACCOUNT:role/NAME. The stage's account is
the stage file's `account`, else "*" (any account the credentials are in).
"""
from __future__ import annotations

from dataclasses import dataclass

from eb_tools.names import environment_name, network_stack_name, stage_stack_name, web_environments
from eb_tools.stage_file import Stage


@dataclass(frozen=True)
class Scope:
    stage: Stage

    @property
    def account(self) -> str:
        return self.stage.account or "*"

    @property
    def partition(self) -> str:
        region = self.stage.region
        return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"

    @property
    def application(self) -> str:
        return self.stage.application

    def arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.stage.region if regional and service != "s3" else ""  # S3's ARNs name neither
        account = self.account if service != "s3" else ""
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    @property
    def environments(self) -> list[str]:
        """Every environment of the stage: its web environment(s) (a blue/green twin too) and its worker."""
        return [*web_environments(self.application, self.stage.name, self.stage.web.blue_green),
                environment_name(self.application, self.stage.name, "worker")]

    @property
    def stacks(self) -> list[str]:
        """The stage's stack and its isolation group's network stack, as stack ARNs (any stack id)."""
        names = (stage_stack_name(self.application, self.stage.name),
                 network_stack_name(self.application, self.stage.isolation))
        return [self.arn("cloudformation", f"stack/{name}/*") for name in names]

    @property
    def storage_bucket(self) -> str:
        """EB's storage bucket of the account and region (CreateStorageLocation's): elasticbeanstalk-REGION-ACCOUNT.
        With no account given, twelve "?": a "*" would match across the "/" after the bucket's name, so that
        BUCKET*/APPLICATION/* would grant eb_tools/APPLICATION/... too."""
        return f"elasticbeanstalk-{self.stage.region}-{self.stage.account or '?' * 12}"

    @property
    def stack_prefix(self) -> str:
        """What CloudFormation starts the names it generates for the stage stack's resources with."""
        return f"{stage_stack_name(self.application, self.stage.name)}-"
