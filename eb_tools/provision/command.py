"""The provision command's flow: load the stage, print templates or plan, confirm, execute.

Kept apart from click (cli.py parses and prints) and from boto3's set-up (a
`Target` says where the stage lives), so `eb_tools local` runs the same flow
against the emulated cloud with `yes=True`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eb_tools import aws
from eb_tools.provision import pipeline, stacks
from eb_tools.provision.plan import ProvisionError
from eb_tools.provision.templates import network_template, stage_template
from eb_tools.stages import StageFileError, load

Failure = (ProvisionError, StageFileError)


def provision(stage_file: Path, stage_name: str, *, template: bool = False, dry_run: bool = False,
              yes: bool = False, allow_replace: bool = False, echo: Callable[[str], None] = print,
              confirm: Callable[[str], bool] = lambda _: False, endpoint_url: str | None = None,
              session: boto3.session.Session | None = None, web_origin: str | None = None,
              poll_seconds: float = 2.0, version: str | None = None) -> dict[str, str]:
    """Provision `stage_name` of `stage_file`; return the stage stack's outputs ({} for --template and
    --dry-run). `session` None takes boto3's, with the stage's profile and region; `version`, a registered
    label, is what new environments start on."""
    file = load(stage_file)
    stage = file.stage(stage_name)
    if template:
        echo(json.dumps({"network": network_template(file, stage.isolation),
                         "stage": stage_template(file, stage.name)}, indent=1))
        return {}
    target = aws.Target(session or aws.session(stage.profile, stage.region), endpoint_url, poll_seconds)
    try:
        pipeline.check_account(target, stage)
        pipeline.check_version(target, stage, version)
        plan = pipeline.make_plan(target, file, stage, prepare=not dry_run, web_origin=web_origin, version=version)
        try:
            pipeline.render(plan, echo)
            pipeline.refuse_data_loss(plan, allow_replace)
            if plan.empty:
                echo(f"stage {stage.name}: nothing to change")
                return stacks.stack_outputs(target.client("cloudformation"), plan.resources.name) or {}
            if dry_run:
                echo("dry run: nothing changed")
                return {}
            if not yes and not confirm(f"Apply these changes to stage {stage.name}?"):
                raise ProvisionError("nothing changed: the plan was not confirmed (--yes skips the question)")
        except BaseException:
            cfn = target.client("cloudformation")
            for stack in (plan.network, plan.resources):
                stacks.discard(cfn, stack)
            raise
        outputs = pipeline.execute(target, file, plan, echo, web_origin)
        echo(f"stage {stage.name}: provisioned")
        return outputs
    except (ClientError, BotoCoreError) as error:
        raise ProvisionError(f"stage {stage.name}: AWS refused a call: {error}") from None
