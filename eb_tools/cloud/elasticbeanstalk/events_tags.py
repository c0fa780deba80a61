"""Events (DescribeEvents, with the eb CLI's cursor) and resource tags (UpdateTagsForResource,
ListTagsForResource): environments are the only resources with tags here."""
from __future__ import annotations

from datetime import datetime

from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.entities import Environment, Event
from eb_tools.cloud.elasticbeanstalk.exceptions import ResourceNotFound

SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


class EventsAndTags(EBBackendCore):
    @operation
    def describe_events(self, app: str | None, env_name: str | None, env_id: str | None, version: str | None,
                        start: datetime | None, end: datetime | None, severity: str | None,
                        request_id: str | None, limit: int | None) -> list[Event]:
        """Newest first, at most `limit`; `start` is inclusive (the eb CLI's cursor), `end` exclusive."""
        if env_id:
            env_name = next((e.name for e in self.environments.values() if e.id == env_id), env_id)
        minimum = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        found = [
            e for e in self.events
            if (not app or e.application == app) and (not env_name or e.environment == env_name)
            and (not version or e.version == version) and (not start or e.date >= start)
            and (not end or e.date < end) and SEVERITIES.index(e.severity) >= minimum
            and (not request_id or e.request_id == request_id)
        ]
        return sorted(found, key=lambda e: e.date, reverse=True)[: limit or None]

    def _tagged(self, arn: str) -> Environment:
        """The resource `arn` names; environments are the only ones with tags here."""
        for env in self._live():
            if env.arn == arn:
                return env
        raise ResourceNotFound(f"Resource not found for ARN '{arn}'.")

    @operation
    def update_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        """The environment's tags change, and EB propagates them to its resources: the event that says it is
        done (ebcli's tags.tag_update_successful, which `eb tags` waits for) comes one transition later."""
        env = self._tagged(arn)
        env.tags.update(add)
        for key in remove:
            env.tags.pop(key, None)
        self._later(lambda when: self._event("Environment tag update completed successfully.", env=env, when=when))

    @operation
    def list_tags(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)
