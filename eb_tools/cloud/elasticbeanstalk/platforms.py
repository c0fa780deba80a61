"""The platform catalogue the emulation offers: Python on Amazon Linux 2023."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eb_tools.cloud.elasticbeanstalk import arns

OS_NAME, OS_VERSION = "Amazon Linux", "2023"
PLATFORM_VERSION = "4.6.0"
TIERS = ["WebServer/Standard", "Worker/SQS/HTTP"]
# The summary field each ListPlatformBranches/ListPlatformVersions filter type (or attribute) tests.
FILTER_FIELDS = {"PlatformName": "PlatformName", "PlatformBranchName": "PlatformBranchName",
                 "BranchName": "BranchName", "LifecycleState": "LifecycleState", "TierType": "SupportedTierList",
                 "PlatformOwner": "PlatformOwner", "PlatformStatus": "PlatformStatus",
                 "PlatformLifecycleState": "PlatformLifecycleState", "PlatformVersion": "PlatformVersion",
                 "SupportedTier": "SupportedTierList", "OperatingSystemName": "OperatingSystemName"}


@dataclass(frozen=True)
class Platform:
    python: str  # "3.11"
    branch_order: int

    @property
    def branch(self) -> str:
        return f"Python {self.python} running on 64bit Amazon Linux 2023"

    def arn_in(self, region: str) -> str:
        return arns.arn(region, "", "platform", self.branch, PLATFORM_VERSION)

    @property
    def arn(self) -> str:
        """The ARN with a `{region}` placeholder, for callers that format it themselves."""
        return self.arn_in("{region}")

    @property
    def solution_stack(self) -> str:
        return f"64bit Amazon Linux 2023 v{PLATFORM_VERSION} running Python {self.python}"

    def summary(self, region: str) -> dict[str, object]:
        return {
            "PlatformArn": self.arn_in(region), "PlatformOwner": "AWSElasticBeanstalk",
            "PlatformStatus": "Ready", "PlatformCategory": "Python", "OperatingSystemName": OS_NAME,
            "OperatingSystemVersion": OS_VERSION, "SupportedTierList": TIERS,
            "SupportedAddonList": ["Log/S3", "Monitoring/Healthd", "WorkerDaemon/SQSD"],
            "PlatformLifecycleState": "Recommended", "PlatformVersion": PLATFORM_VERSION,
            "PlatformBranchName": self.branch, "PlatformBranchLifecycleState": "Supported",
        }

    def branch_summary(self) -> dict[str, object]:
        return {"PlatformName": "Python", "BranchName": self.branch, "LifecycleState": "Supported",
                "BranchOrder": self.branch_order, "SupportedTierList": TIERS}

    def description(self, region: str) -> dict[str, object]:
        return {
            **self.summary(region), "PlatformName": self.branch, "SolutionStackName": self.solution_stack,
            "Description": f"Python {self.python} on Amazon Linux 2023, emulated locally",
            "Maintainer": "aws-elasticbeanstalk-platforms@amazon.com",
            "ProgrammingLanguages": [{"Name": "Python", "Version": self.python}],
            "Frameworks": [], "CustomAmiList": [], "DefaultAmiList": [],
        }


PLATFORMS = [Platform("3.13", 1), Platform("3.12", 2), Platform("3.11", 3)]


def find(arn_or_stack: str, region: str) -> Platform | None:
    """The platform an ARN (of any version of its branch) or a solution stack name names."""
    for platform in PLATFORMS:
        arn = platform.arn_in(region)
        if arn_or_stack in (arn, platform.solution_stack) or arn_or_stack.startswith(arn.rsplit("/", 1)[0] + "/"):
            return platform
    return None


def matches(summary: dict[str, object], filters: list[dict[str, Any]]) -> bool:
    """Whether a summary passes every filter: Type (or Attribute), Operator (=, !=, begins_with...), Values."""
    for item in filters:
        field = FILTER_FIELDS.get(item.get("Type") or item.get("Attribute", ""))
        if not field:
            continue  # a filter type the emulation does not know filters nothing
        operator, values = item.get("Operator", "="), [str(v) for v in item.get("Values", [])]
        actual = summary.get(field)
        actual_list = [str(a) for a in actual] if isinstance(actual, list) else [str(actual)]
        if operator in ("=", "in") and not set(actual_list) & set(values):
            return False
        if operator in ("!=", "not_in") and set(actual_list) & set(values):
            return False
        if operator == "begins_with" and not any(a.startswith(v) for a in actual_list for v in values):
            return False
        if operator == "contains" and not any(v in a for a in actual_list for v in values):
            return False
    return True
