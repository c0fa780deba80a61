"""The platforms EB offers: ListPlatformBranches, ListPlatformVersions, DescribePlatformVersion and
ListAvailableSolutionStacks, from the catalogue of platforms.py."""
from __future__ import annotations

from typing import Any

from eb_tools.cloud.elasticbeanstalk import platforms
from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidParameterValue


class PlatformOperations(EBBackendCore):
    @operation
    def list_platform_branches(self, filters: list[dict[str, Any]]) -> list[dict[str, object]]:
        branches = [p.branch_summary() for p in platforms.PLATFORMS]
        return [b for b in branches if platforms.matches(b, filters)]

    @operation
    def list_platform_versions(self, filters: list[dict[str, Any]]) -> list[dict[str, object]]:
        summaries = [p.summary(self.region_name) for p in platforms.PLATFORMS]
        return [s for s in summaries if platforms.matches(s, filters)]

    @operation
    def describe_platform_version(self, arn: str | None) -> dict[str, object]:
        platform = platforms.find(arn or "", self.region_name)
        if platform is None:
            raise InvalidParameterValue(f"No Platform named '{arn}' found.")
        return platform.description(self.region_name)

    @operation
    def solution_stacks(self) -> list[str]:
        return [p.solution_stack for p in platforms.PLATFORMS]
