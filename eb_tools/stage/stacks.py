"""Reading a stage's CloudFormation stacks: whether one is live, its outputs and parameters.

Below provision (which makes the stacks) and release (whose `diff` compares a stage with what its stage file and
stack outputs say it should be).
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack as DescribeStacks has it; None when there is none."""
    try:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stack


def live(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack when it is live: not absent, not an empty REVIEW_IN_PROGRESS one, not a failed first attempt."""
    stack = describe(cfn, name)
    if stack is None or stack["StackStatus"] in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        return None
    return stack


def stack_outputs(cfn: Any, name: str) -> dict[str, str] | None:
    """The outputs of a live stack; None when it is not live (see _live)."""
    stack = live(cfn, name)
    return None if stack is None else {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_parameters(cfn: Any, name: str) -> dict[str, str]:
    """The parameter values a live stack was last deployed with ({} when there is none)."""
    stack = live(cfn, name)
    return {} if stack is None else {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
