"""CloudFormation stacks in the local cloud that behave as AWS's: change sets, events, rollback.

moto's stacks reach CREATE_COMPLETE whatever happens: a change set's Changes
carry no Replacement, Outputs are missing after a change set, a resource that
fails takes the request down with the stack half-built, and a type moto has no
model for is silently skipped. `eb_tools provision` relies on AWS's behaviour, so
register() installs, on moto's CloudFormation:

- change sets found by stack and name, checked on creation as AWS checks them,
  with AWS-shaped Changes (Replacement from the type's schema) (`api`, `changes`);
- execution resource by resource, with events, Outputs, and rollback to
  ROLLBACK_COMPLETE or UPDATE_ROLLBACK_COMPLETE on failure (`execution`);
- DeleteStack with an event per resource.
"""
from __future__ import annotations

from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse

from eb_tools.local.cfn_stacks import api

__all__ = ["register"]


def register() -> None:
    """Install the stack behaviour on moto's CloudFormation (idempotent)."""
    if getattr(CloudFormationResponse, "_eb_tools_stacks", False):
        return
    for name, operation in api.RESPONSES.items():
        setattr(CloudFormationResponse, name, operation)
    CloudFormationBackend.delete_stack = api.delete_stack  # type: ignore[method-assign]  # replaced on purpose
    CloudFormationResponse._eb_tools_stacks = True  # type: ignore[attr-defined]  # our mark on moto's class
