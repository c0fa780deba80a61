"""CloudFormation stacks in the local cloud that behave as AWS's: change sets, events, rollback.

moto's stacks reach CREATE_COMPLETE whatever happens: a change set's Changes
carry no Replacement, Outputs are missing after a change set, a resource that
fails takes the request down with the stack half-built, and a type moto has no
model for is silently skipped. `eb_tools provision` relies on AWS's behaviour, so
register() installs, on moto's CloudFormation:

- change sets found by stack and name, checked on creation as AWS checks them,
  with AWS-shaped Changes (Replacement from the type's schema) (`models`, `changes`; `responses` translates);
- execution resource by resource, with events, Outputs, and rollback to
  ROLLBACK_COMPLETE or UPDATE_ROLLBACK_COMPLETE on failure (`execution`);
- DeleteStack with an event per resource;
- DescribeStacks' list parameters as the comma-separated strings AWS gives back;
- drift detection, which moto lacks, for the resources whose properties the local cloud reads back (`drift`).
"""
from __future__ import annotations

from eb_tools.cloud.cfn_stacks import models, responses
from eb_tools.cloud.moto_internals import CloudFormationBackend, CloudFormationResponse, Stack, add, once, replace

__all__ = ["register"]


def register() -> None:
    """Install the stack behaviour on moto's CloudFormation (once per process)."""
    once("cfn_stacks", _install)


def _install() -> None:
    for name, operation in responses.RESPONSES.items():
        replace(CloudFormationResponse, name, operation)
    for name, operation in responses.ADDED.items():
        add(CloudFormationResponse, name, operation)
    replace(CloudFormationBackend, "delete_stack", models.delete_stack)
    replace(Stack, "parameter_list", property(models.parameter_list))
