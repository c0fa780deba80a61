"""Read Elastic Beanstalk environments' settings, and follow their operations' events until they settle.

Shared by `provision` (creating and configuring environments), `release`
(putting a version on them) and `local` (which runs what they describe). An
environment's Ready status says nothing about success (EB is Ready after a
failed deployment too): an operation failed when its own request id carries
ERROR events, as the eb CLI reads it (`ebcli/operations/commonops.py`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eb_tools.aws import WaitTimeout, wait_until

APPLICATION_DESCRIPTION = "eb_tools: one application per repository, its stages' environments"


class OperationFailed(Exception):
    """An environment's operation ended with errors; the message names it and EB's first reason."""


class EventFeed:
    """The events of some operations (by request id), each printed once, oldest first, with a prefix naming
    what it belongs to; one DescribeEvents call per poll, whatever the number of operations."""

    def __init__(self, eb: Any, application: str, started: datetime, prefixes: dict[str, str],
                 echo: Callable[[str], None]) -> None:
        self.eb, self.application, self.started, self.echo = eb, application, started, echo
        self.prefixes = prefixes  # {request id: prefix}
        self.errors: dict[str, str] = {}  # {request id: its first ERROR message, the cause}
        self._seen: set[tuple[str, str, str]] = set()

    def follow(self, request_id: str, prefix: str) -> None:
        self.prefixes[request_id] = prefix

    def poll(self) -> int:
        """Print the operations' new events; how many there were."""
        new = 0
        events = self.eb.describe_events(ApplicationName=self.application, StartTime=self.started)["Events"]
        width = max((len(p) for p in self.prefixes.values()), default=0)
        for event in reversed(events):  # newest first: print oldest first
            request = event.get("RequestId", "")
            key = (request, str(event["EventDate"]), event["Message"])
            if request not in self.prefixes or key in self._seen:
                continue
            self._seen.add(key)
            new += 1
            if event["Severity"] in ("ERROR", "FATAL"):
                self.errors.setdefault(request, event["Message"])
            self.echo(f"  {event['EventDate']:%H:%M:%S}  {self.prefixes[request]:<{width}}  "
                      f"{event['Severity']:<5} {event['Message']}")
        return new


def describe(eb: Any, application: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The live environments among `names`, by name."""
    return {e["EnvironmentName"]: e for e in eb.describe_environments(
        ApplicationName=application, EnvironmentNames=names, IncludeDeleted=False)["Environments"]}


def watch(eb: Any, application: str, requests: dict[str, str], started: datetime, echo: Callable[[str], None],
          timeout: float, interval: float = 2.0) -> list[dict[str, Any]]:
    """Stream the events of the environments in `requests` ({name: request id}) until all are Ready;
    return their descriptions. Raise OperationFailed when a request logged an ERROR, WaitTimeout past
    `timeout` (the operation goes on in EB)."""
    feed = EventFeed(eb, application, started, {request: name for name, request in requests.items()}, echo)

    def ready() -> list[dict[str, Any]]:
        feed.poll()
        envs = describe(eb, application, list(requests))
        return list(envs.values()) if len(envs) == len(requests) and all(
            e["Status"] == "Ready" for e in envs.values()) else []

    envs = wait_until(ready, timeout, f"{', '.join(requests)} Ready", interval=interval)
    feed.poll()  # the last events may have come with the Ready status
    for name, request in requests.items():
        if request in feed.errors:
            raise OperationFailed(f"{name}: {feed.errors[request]}")
    return envs


def settings(eb: Any, application: str, environment: str) -> dict[tuple[str, str], str]:
    """An environment's options, {(namespace, option): value}, as DescribeConfigurationSettings answers."""
    described = eb.describe_configuration_settings(ApplicationName=application, EnvironmentName=environment)
    return {(s["Namespace"], s["OptionName"]): s.get("Value", "")
            for s in described["ConfigurationSettings"][0]["OptionSettings"]}


__all__ = ["EventFeed", "OperationFailed", "WaitTimeout", "describe", "settings", "watch"]
