"""The platform catalogue the emulation offers: Python on Amazon Linux 2023."""
from __future__ import annotations

from dataclasses import dataclass

OS_NAME, OS_VERSION = "Amazon Linux", "2023"
PLATFORM_VERSION = "4.6.0"
TIERS = ["WebServer/Standard", "Worker/SQS/HTTP"]


@dataclass(frozen=True)
class Platform:
    python: str  # "3.11"
    branch_order: int

    @property
    def branch(self) -> str:
        return f"Python {self.python} running on 64bit Amazon Linux 2023"

    @property
    def arn(self) -> str:
        return f"arn:aws:elasticbeanstalk:{{region}}::platform/{self.branch}/{PLATFORM_VERSION}"

    @property
    def solution_stack(self) -> str:
        return f"64bit Amazon Linux 2023 v{PLATFORM_VERSION} running Python {self.python}"

    def summary(self, region: str) -> dict[str, object]:
        return {
            "PlatformArn": self.arn.format(region=region), "PlatformOwner": "AWSElasticBeanstalk",
            "PlatformStatus": "Ready", "PlatformCategory": "Python", "OperatingSystemName": OS_NAME,
            "OperatingSystemVersion": OS_VERSION, "SupportedTierList": TIERS, "SupportedAddonList": ["Log/S3", "Monitoring/Healthd", "WorkerDaemon/SQSD"],
            "PlatformLifecycleState": "Recommended", "PlatformVersion": PLATFORM_VERSION,
            "PlatformBranchName": self.branch, "PlatformBranchLifecycleState": "Supported",
        }

    def branch_summary(self) -> dict[str, object]:
        return {"PlatformName": "Python", "BranchName": self.branch, "LifecycleState": "Supported",
                "BranchOrder": self.branch_order, "SupportedTierList": TIERS}

    def description(self, region: str) -> dict[str, object]:
        summary = self.summary(region)
        return {
            **{k: v for k, v in summary.items() if k != "PlatformLifecycleState"},
            "PlatformLifecycleState": "Recommended", "PlatformName": self.branch, "SolutionStackName": self.solution_stack,
            "Description": f"Python {self.python} on Amazon Linux 2023, emulated locally",
            "Maintainer": "aws-elasticbeanstalk-platforms@amazon.com",
            "ProgrammingLanguages": [{"Name": "Python", "Version": self.python}],
            "Frameworks": [], "CustomAmiList": [], "DefaultAmiList": [],
        }


PLATFORMS = [Platform("3.13", 1), Platform("3.12", 2), Platform("3.11", 3)]


def find(arn_or_stack: str, region: str) -> Platform | None:
    for platform in PLATFORMS:
        if arn_or_stack in (platform.arn.format(region=region), platform.solution_stack) or \
                arn_or_stack.startswith(platform.arn.format(region=region).rsplit("/", 1)[0] + "/"):
            return platform
    return None
