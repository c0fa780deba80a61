"""Where a stage's environments live: its stage-file entry, the AWS target for it and its environment names.

Every release command starts here, so an unknown stage or missing credentials
is one clear line before anything is read or changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from eb_tools import aws, ebenv
from eb_tools.names import TIERS, environment_names, web_environments
from eb_tools.stages import Stage, StageFileError, load


class ReleaseError(Exception):
    """One line: what was refused or went wrong, where, and how to go on."""


@dataclass(frozen=True)
class StageTarget:
    stage: Stage
    target: aws.Target

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def application(self) -> str:
        return self.stage.application

    @property
    def environments(self) -> dict[str, str]:
        """{tier: environment name}, web first, as provisioned (see `live` for a blue/green stage)."""
        return environment_names(self.stage.application, self.stage.name)

    @cached_property
    def storage_bucket(self) -> str:
        """EB's storage bucket of the stage's account and region (CreateStorageLocation makes it once), where
        versions' bundles, the release lock and the release history live."""
        return str(self.client("elasticbeanstalk").create_storage_location()["S3Bucket"])

    def web_pair(self) -> tuple[str, str | None]:
        """(the live web environment, its idle twin): the live one holds the stage's URL, the CNAME the stage's
        first web environment was created with, whichever environment a swap gave it to."""
        names = web_environments(self.application, self.name, self.stage.web.blue_green)
        if len(names) == 1:
            return names[0], None
        url = f"{names[0]}."
        found = ebenv.describe(self.client("elasticbeanstalk"), self.application, names)
        live = next((n for n, env in found.items() if str(env.get("CNAME", "")).startswith(url)), names[0])
        return live, next(n for n in names if n != live)

    def live(self) -> dict[str, str]:
        """{tier: environment name} of the environments serving the stage now."""
        return {**self.environments, "web": self.web_pair()[0]}

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def verify(self) -> StageTarget:
        """Refuse credentials of another account than the stage file declares, before anything is read."""
        problem = aws.account_problem(self.target, self.stage.account, f"stages.{self.name}.account")
        if problem:
            raise ReleaseError(problem)
        return self


Sessions = dict[str, boto3.session.Session]  # stage name -> session, where a caller chooses the credentials


def resolve(stage_file: Path, names: list[str], *, sessions: Sessions | None = None, endpoint_url: str | None = None,
            poll_seconds: float = 2.0) -> list[StageTarget]:
    """The stages `names` of `stage_file` (every stage when empty), each with the session its profile and region
    give, unless `sessions` names one."""
    try:
        file = load(stage_file)
        stages = [file.stage(n) for n in names or list(file.stages)]
    except StageFileError as error:
        raise ReleaseError(str(error)) from None
    chosen = sessions or {}
    return [StageTarget(s, aws.Target(chosen.get(s.name) or aws.session(s.profile, s.region), endpoint_url,
                                      poll_seconds)) for s in stages]


def aws_problem(where: StageTarget, error: Exception) -> ReleaseError:
    """An AWS client error or missing credentials as one line naming the stage."""
    if isinstance(error, NoCredentialsError):
        profile = f" (profile {where.stage.profile})" if where.stage.profile else ""
        return ReleaseError(f"stage {where.name}: no AWS credentials{profile}; configure them (aws configure, "
                            "AWS_PROFILE, or stages.<name>.profile in the stage file)")
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return ReleaseError(f"stage {where.name}: AWS refused {error.operation_name}: {info.get('Code')}: "
                            f"{info.get('Message')}")
    if isinstance(error, BotoCoreError):
        return ReleaseError(f"stage {where.name}: {error}")
    raise error


__all__ = ["TIERS", "ReleaseError", "StageTarget", "aws_problem", "resolve"]
