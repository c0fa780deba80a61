"""How many instances an environment runs and how a version deployment proceeds over them.

Both come from the effective options (options.effective): aws:autoscaling:asg MinSize, and
aws:elasticbeanstalk:command DeploymentPolicy, BatchSizeType and BatchSize (developer guide,
using-features.rolling-version-deploy): AllAtOnce deploys to every instance in one batch; Rolling batch by
batch; RollingWithAdditionalBatch first launches one more batch on the new version, then rolls the others,
then terminates the additional capacity; Immutable (and TrafficSplitting, which the emulation runs as
Immutable) launches a new set of instances and keeps them only when they pass their health checks.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Option = Callable[[str, str], str]  # (namespace, option name) -> the effective value
COMMAND = "aws:elasticbeanstalk:command"
POLICIES = ("AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting")


def _number(text: str, default: int) -> int:
    """A number setting; an unreadable one, which EB would have refused, counts as its default."""
    try:
        return max(1, int(float(text)))
    except ValueError:
        return default


def min_size(option: Option) -> int:
    return _number(option("aws:autoscaling:asg", "MinSize"), 1)


def max_size(option: Option) -> int:
    return _number(option("aws:autoscaling:asg", "MaxSize"), 4)  # EB's default MaxSize


@dataclass(frozen=True)
class DeploymentPolicy:
    name: str  # one of POLICIES
    batch_type: str  # Percentage or Fixed
    batch_size: int

    @property
    def immutable(self) -> bool:
        """A new set of instances, not the running ones."""
        return self.name in ("Immutable", "TrafficSplitting")

    def batch(self, count: int) -> int:
        """Instances a batch of `count` takes: a percentage rounds up, and a batch has at least one."""
        if self.name == "AllAtOnce":
            return count
        size = math.ceil(count * self.batch_size / 100) if self.batch_type == "Percentage" else self.batch_size
        return max(1, min(count, size))

    def batches(self, instances: Sequence[T]) -> list[list[T]]:
        size = self.batch(len(instances))
        return [list(instances[start:start + size]) for start in range(0, len(instances), size)]


def deployment_policy(option: Option) -> DeploymentPolicy:
    name = option(COMMAND, "DeploymentPolicy")
    batch_type = option(COMMAND, "BatchSizeType")
    return DeploymentPolicy(name if name in POLICIES else "AllAtOnce",
                            batch_type if batch_type in ("Percentage", "Fixed") else "Percentage",
                            _number(option(COMMAND, "BatchSize"), 100))
