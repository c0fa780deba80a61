"""Both tiers' app lines as EB's instances stream them to CloudWatch Logs: the group EB names for the Procfile
process's output of each tier's live environment (a stream per instance, named by its id), read with
FilterLogEvents page by page and interleaved by time; or followed, polling.

EB streams /var/log/web.stdout.log to /aws/elasticbeanstalk/ENVIRONMENT/var/log/web.stdout.log while the
environment's aws:elasticbeanstalk:cloudwatch:logs StreamLogs is true (developer guide, AWSHowTo.cloudwatchlogs).
On Amazon Linux 2 the platform's rsyslog writes that file with its traditional prefix before each line
(`Feb  6 20:16:28 ip-172-31-21-148 web: {...}`: awsdocs/elastic-beanstalk-samples#149,
meteor-up/mup-aws-beanstalk#155): an app's JSON is read after such a prefix too.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from eb_tools.errors import LogsError
from eb_tools.logs.query import Query
from eb_tools.stage import ebenv
from eb_tools.stage.target import StageTarget

APP_LOG = "/var/log/web.stdout.log"  # the Procfile process's stdout and stderr: the apps' JSON lines, gunicorn's
LOGS = "aws:elasticbeanstalk:cloudwatch:logs"
SYSLOG_PREFIX = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:]+: ?")  # rsyslog's traditional format
LOOKBACK_MS = 30_000  # a follow asks again for this much before the newest line seen: lines shipped late
ENABLE = ("turn it on with StreamLogs: true in namespace aws:elasticbeanstalk:cloudwatch:logs (this bundle's "
          ".ebextensions/03_health_and_logs.config sets it: deploy a version that has it), or `eb logs "
          "--cloudwatch-logs enable ENVIRONMENT`")


@dataclass(frozen=True)
class Source:
    tier: str
    environment: str

    @property
    def group(self) -> str:
        return f"/aws/elasticbeanstalk/{self.environment}{APP_LOG}"


@dataclass(frozen=True)
class Event:
    tier: str
    instance: str  # the log stream's name: the instance id
    timestamp: int  # CloudWatch's, in ms
    message: str
    id: str

    @cached_property
    def fields(self) -> dict[str, Any] | None:
        """The line as a JSON object (the apps' lines, after rsyslog's prefix if any), or None (gunicorn's own
        lines, a traceback printed raw...)."""
        prefix = SYSLOG_PREFIX.match(self.message)
        text = self.message[prefix.end():] if prefix else self.message
        if not text.startswith("{"):
            return None
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def order(self) -> tuple[int, int]:
        """By the time the app wrote on the line, else by CloudWatch's: an instance ships its lines in batches,
        each event stamped when it was shipped, so a tier's lines can reach CloudWatch after later ones of the
        other."""
        own = (self.fields or {}).get("time")
        try:
            written = int(datetime.fromisoformat(str(own).replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            written = self.timestamp
        return written, self.timestamp


class Reader:
    """The stage's app log groups for `query`'s tiers, checked to be streamed, read with its filters."""

    def __init__(self, where: StageTarget, query: Query) -> None:
        self.where, self.query = where, query
        self.logs = where.client("logs")
        self.sources = self._sources()

    def _sources(self) -> list[Source]:
        """Each tier's live environment's group; LogsError, saying how to turn it on, when one streams none."""
        eb, live = self.where.client("elasticbeanstalk"), self.where.live()
        sources = [Source(tier, live[tier]) for tier in self.query.tiers]
        off = [s.environment for s in sources
               if ebenv.settings(eb, self.where.application, s.environment).get((LOGS, "StreamLogs")) != "true"
               or not self._exists(s.group)]
        if off:
            raise LogsError(f"stage {self.where.name}: {' and '.join(off)} stream no logs to CloudWatch Logs; "
                            f"{ENABLE}")
        return sources

    def _exists(self, group: str) -> bool:
        found = self.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        return any(g["logGroupName"] == group for g in found)

    def read(self, since_ms: int) -> list[Event]:
        """Every line from `since_ms` on that passes the filters, both tiers interleaved by time."""
        events = [event for source in self.sources for event in self._events(source, since_ms)
                  if self.query.keeps(event.message, event.fields)]
        return sorted(events, key=Event.order)

    def _events(self, source: Source, since_ms: int) -> Iterator[Event]:
        arguments = {"logGroupName": source.group, "startTime": since_ms,
                     **({"filterPattern": self.query.pattern} if self.query.pattern else {})}
        for page in self.logs.get_paginator("filter_log_events").paginate(**arguments):
            for found in page["events"]:
                yield Event(source.tier, found["logStreamName"], found["timestamp"], found["message"],
                            found["eventId"])

    def follow(self, since_ms: int, show: Callable[[Event], None], interval: float) -> None:
        """Show the lines from `since_ms` on, then every `interval` seconds the new ones, until interrupted
        (KeyboardInterrupt: Ctrl-C). Each poll asks again for LOOKBACK_MS before the newest line seen, since
        an instance ships its lines in batches, and shows only the lines not shown yet."""
        shown: dict[str, int] = {}  # event id -> its timestamp, for the lines within the look-back
        start = since_ms
        while True:
            for event in self.read(start):
                if event.id not in shown:
                    shown[event.id] = event.timestamp
                    show(event)
            start = max(since_ms, max(shown.values(), default=since_ms) - LOOKBACK_MS)
            shown = {event_id: at for event_id, at in shown.items() if at >= start}
            time.sleep(interval)


def since_ms(query: Query) -> int:
    """Where the window begins, in CloudWatch's milliseconds."""
    return int((time.time() - query.since_seconds) * 1000)
