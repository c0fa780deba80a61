"""`eb_tools provision STAGE` as an operation of the stage runner: the templates, or plan, confirm, execute.

Kept apart from click (cli.py parses and prints) and from boto3's set-up (a
`Target` says where the stage lives), so `eb_tools local` runs the same flow
against the emulated cloud with `yes=True`. The plan and its executor are in
pipeline.py; the order of the steps, the dry run and the confirmation are the
runner's (eb_tools/stage/runner.py).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3

from eb_tools import aws
from eb_tools.provision import mail, pipeline, stacks
from eb_tools.provision.templates import network_template, stage_template
from eb_tools.stage import runner
from eb_tools.stage.stacks import stack_outputs
from eb_tools.stage.target import StageTarget
from eb_tools.stage_file import load


def provision(stage_file: Path, stage_name: str, *, template: bool = False, dry_run: bool = False,
              yes: bool = False, allow_replace: bool = False, echo: Callable[[str], None] = print,
              confirm: Callable[[str], bool] = lambda _: False, endpoint_url: str | None = None,
              session: boto3.session.Session | None = None, web_origin: str | None = None,
              poll_seconds: float = 2.0, version: str | None = None,
              on_plan: Callable[[pipeline.Plan], None] | None = None) -> dict[str, str]:
    """Provision `stage_name` of `stage_file`; return the stage stack's outputs ({} for --template and
    --dry-run). `session` None takes boto3's, with the stage's profile and region; `version`, a registered
    label, is what new environments start on; `on_plan` is given the plan as it is shown (`--output json`)."""
    file = load(stage_file)
    stage = file.stage(stage_name)
    if template:
        echo(json.dumps({"network": network_template(file, stage.isolation),
                         "stage": stage_template(file, stage.name)}, indent=1))
        return {}
    target = aws.Target(session or aws.session(stage.profile, stage.region), endpoint_url, poll_seconds)
    where = StageTarget(stage, target)
    cfn = target.client("cloudformation")

    def plan(dry: bool) -> pipeline.Plan:
        pipeline.check_version(target, stage, version)
        return pipeline.make_plan(target, file, stage, prepare=not dry, web_origin=web_origin, version=version)

    def execute(ready: pipeline.Plan) -> dict[str, str]:
        outputs = pipeline.execute(target, file, ready, echo, web_origin)
        echo(f"stage {stage.name}: provisioned")
        mail.render(stage.mail, outputs, echo)
        return outputs

    def unchanged(ready: pipeline.Plan) -> dict[str, str]:
        """A stage with nothing to change: the outputs it has; a dry run of changes: {}."""
        return (stack_outputs(cfn, ready.resources.name) or {}) if ready.empty else {}

    def render(ready: pipeline.Plan, shown: Callable[[str], None]) -> None:
        if on_plan is not None:
            on_plan(ready)
        pipeline.render(ready, shown)

    def discard(ready: pipeline.Plan) -> None:
        for stack in (ready.network, ready.resources):
            stacks.discard(cfn, stack)

    return runner.carry_out(runner.Operation(
        where, f"provision {stage.name}", plan=plan, render=render, execute=execute, unchanged=unchanged,
        refuse=lambda ready: pipeline.refuse_data_loss(ready, allow_replace), discard=discard,
        empty_note="nothing to change", confirm=None if yes else confirm), echo, dry_run=dry_run)
