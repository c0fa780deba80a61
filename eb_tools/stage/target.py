"""Where a stage's environments live: its stage-file entry, the AWS target for it and its environment names.

Every stage verb starts here, so an unknown stage is one clear line before anything is read, and the
account check (`verify`) is the runner's first step before anything changes.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eb_tools import aws
from eb_tools.errors import AccountError, EbToolsError, aws_message
from eb_tools.names import TIERS, environment_names, web_environments
from eb_tools.stage import ebenv
from eb_tools.stage_file import PRODUCTION, Stage, load


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

    @property
    def is_production(self) -> bool:
        """Production, or in its isolation group: what a destructive verb asks to have typed out."""
        return PRODUCTION in (self.name, self.stage.isolation)

    def live(self) -> dict[str, str]:
        """{tier: environment name} of the environments serving the stage now."""
        return {**self.environments, "web": self.web_pair()[0]}

    def client(self, service: str) -> Any:
        return self.target.client(service)

    @contextmanager
    def naming_errors(self) -> Iterator[None]:
        """AWS's refusals and missing credentials inside, as one EbToolsError naming this stage."""
        try:
            yield
        except (ClientError, BotoCoreError) as error:
            raise EbToolsError(aws_message(error, f"stage {self.name}", self.stage.profile) or str(error)) from None

    def verify(self) -> StageTarget:
        """Refuse credentials of another account than the stage file declares, before anything is read; asked
        once per StageTarget (a verb and the runner may both ask)."""
        problem = self._account_problem
        if problem:
            raise AccountError(problem)
        return self

    @cached_property
    def _account_problem(self) -> str | None:
        with self.naming_errors():
            return aws.account_problem(self.target, self.stage.account,
                                       f"{self.stage.source}: stages.{self.name}.account")


Sessions = dict[str, boto3.session.Session]  # stage name -> session, where a caller chooses the credentials


def resolve(stage_file: Path, names: list[str], *, sessions: Sessions | None = None, endpoint_url: str | None = None,
            poll_seconds: float | None = None) -> list[StageTarget]:
    """The stages `names` of `stage_file` (every stage when empty), each with the session its profile and region
    give, unless `sessions` names one; waits poll every `poll_seconds` (default: aws.poll_seconds())."""
    file = load(stage_file)
    stages = [file.stage(n) for n in names or list(file.stages)]
    chosen = sessions or {}
    poll = aws.poll_seconds() if poll_seconds is None else poll_seconds
    return [StageTarget(s, aws.Target(chosen.get(s.name) or aws.session(s.profile, s.region), endpoint_url,
                                      poll)) for s in stages]


__all__ = ["TIERS", "StageTarget", "resolve"]
