"""The emulated instances' CloudWatch Logs agent: their log files streamed as EB's instances stream theirs.

With aws:elasticbeanstalk:cloudwatch:logs StreamLogs true, EB's instances send their log files to CloudWatch
Logs, a group per file named /aws/elasticbeanstalk/ENVIRONMENT/var/log/FILE and a stream per instance named by
its id, kept RetentionInDays (developer guide, AWSHowTo.cloudwatchlogs; the eb CLI reads
/aws/elasticbeanstalk/ENVIRONMENT/var/log/eb-engine.log by default on Amazon Linux 2023). For the files
published for an environment (LocalCloud.publish_instance_logs, which resolves them per instance) the emulation
does the same, from a thread of its own and through the cloud's own CloudWatch Logs API, as the agent does: new
lines every `interval` seconds, each instance's in its own stream, while the environment's effective StreamLogs
is true.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eb_tools.aws import client, local_session
from eb_tools.cloud.elasticbeanstalk import instance_logs
from eb_tools.cloud.elasticbeanstalk.periodic import Periodic

Files = dict[str, dict[str, Path]]  # instance id -> {path on the instance: the file on this machine}
Published = dict[str, tuple[str, Files]]  # environment -> (region, its instances' files)
LOGS = "aws:elasticbeanstalk:cloudwatch:logs"
BATCH = 1000  # lines per PutLogEvents call (CloudWatch Logs accepts up to 10,000)


class LogStreamer:
    """Ships, every `interval` seconds, the new lines of the files `published()` names."""

    def __init__(self, endpoint: str, interval: float = 2.0, published: Callable[[], Published] = dict) -> None:
        self.endpoint, self.interval, self.published = endpoint, interval, published
        self._offsets: dict[tuple[str, str, str], int] = {}  # (environment, instance, path) -> bytes shipped
        self._sessions: dict[str, boto3.session.Session] = {}  # by region: the local cloud's credentials
        self._thread = Periodic("eb-log-streaming", interval, self._round)

    def start(self) -> LogStreamer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def _client(self, service: str, region: str) -> Any:
        if region not in self._sessions:
            self._sessions[region] = local_session(region)
        return client(self._sessions[region], service, self.endpoint)

    def _round(self) -> None:
        for environment, (region, files) in self.published().items():
            try:
                self.ship(environment, region, files)
            except (BotoCoreError, ClientError):
                continue  # the environment is gone or the cloud is stopping: try again next time

    def ship(self, environment: str, region: str, files: Files) -> int:
        """Send the new lines of `environment`'s instances' files when it streams its logs; how many lines."""
        eb = self._client("elasticbeanstalk", region)
        found = eb.describe_environments(EnvironmentNames=[environment], IncludeDeleted=False)["Environments"]
        if not found:
            return 0
        settings = eb.describe_configuration_settings(ApplicationName=found[0]["ApplicationName"],
                                                      EnvironmentName=environment)["ConfigurationSettings"][0]
        options = {(o["Namespace"], o["OptionName"]): o.get("Value") for o in settings["OptionSettings"]}
        if options.get((LOGS, "StreamLogs")) != "true":
            return 0
        logs, sent = self._client("logs", region), 0
        platform_files = instance_logs.PLATFORM_FILES[found[0]["Tier"]["Name"]]
        for instance, own in files.items():
            for path in sorted({*platform_files, *own}):  # the platform's files exist, even empty
                if (environment, instance, path) not in self._offsets:
                    self._ensure(logs, f"/aws/elasticbeanstalk/{environment}{path}", instance,
                                 options.get((LOGS, "RetentionInDays")))
                    self._offsets[(environment, instance, path)] = 0
                if path in own:
                    sent += self._send(logs, (environment, instance, path), own[path])
        return sent

    def _send(self, logs: Any, where: tuple[str, str, str], file: Path) -> int:
        """The whole lines `file` gained since the last round, to the instance's stream of the path's group."""
        environment, instance, path = where
        try:
            with open(file, "rb") as handle:
                handle.seek(self._offsets[where])
                data = handle.read()
        except OSError:
            return 0  # not written yet
        complete = data[:data.rfind(b"\n") + 1]  # whole lines only; the rest goes with the next batch
        lines = [line for line in complete.decode(errors="replace").splitlines() if line]
        now = int(time.time() * 1000)
        for start in range(0, len(lines), BATCH):
            logs.put_log_events(logGroupName=f"/aws/elasticbeanstalk/{environment}{path}", logStreamName=instance,
                                logEvents=[{"timestamp": now, "message": line} for line in lines[start:start + BATCH]])
        self._offsets[where] += len(complete)
        return len(lines)

    @staticmethod
    def _ensure(logs: Any, group: str, stream: str, retention: str | None) -> None:
        """The group (with the environment's retention) and the instance's stream, made once."""
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
            if retention:
                logs.put_retention_policy(logGroupName=group, retentionInDays=int(retention))
        if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
