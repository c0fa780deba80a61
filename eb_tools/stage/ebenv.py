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

from eb_tools.aws import Progress, WaitTimeout, wait_until
from eb_tools.errors import OperationFailed
from eb_tools.formats.option_schema import join_resource, split_resource

APPLICATION_DESCRIPTION = "eb_tools: one application per repository, its stages' environments"
PROPERTIES = "aws:elasticbeanstalk:application:environment"  # the namespaces of what an environment's apps get
SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"


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
        """Print the operations' new events; how many there were. A feed of no operation asks nothing."""
        new = 0
        if not self.prefixes:
            return new
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


Envs = dict[str, dict[str, Any]]


def follow(eb: Any, application: str, feed: EventFeed, names: dict[str, str], timeout: float, *,
           interval: float = 2.0, on_error: Callable[[Envs], None] | None = None,
           until: Callable[[Envs], bool] | None = None, what: str = "Ready") -> Envs:
    """The one wait for environments to settle: poll `feed` and the environments `names` ({environment: what
    progress lines call it}) until every one is Ready (and `until` holds of them, when given), and return
    them. A progress line comes after aws.QUIET_SECONDS without events (aws.Progress). Once the feed holds an
    ERROR, the abort hook `on_error` is called once with the environments as they are. WaitTimeout, naming
    `what`, past `timeout` (the operations go on in EB)."""
    aborted = False
    progress = Progress(feed.echo, f"{', '.join(names.values())} {what}")
    found: Envs = {}

    def settled() -> bool:
        nonlocal aborted
        progress.news(feed.poll())
        found.clear()
        found.update(describe(eb, application, list(names)))
        if feed.errors and not aborted and on_error is not None:
            aborted = True
            on_error(found)
        progress.quiet(lambda: ", ".join(f"{label} {found.get(name, {}).get('Status', 'gone')}"
                                         for name, label in names.items()))
        ready = all(found.get(name, {}).get("Status") == "Ready" for name in names)
        return ready and (until is None or until(found))

    wait_until(settled, max(0.0, timeout), f"{', '.join(names)} {what}", interval=interval)
    feed.poll()  # the last events may have come with the Ready status
    return dict(found)


def watch(eb: Any, application: str, requests: dict[str, str], started: datetime, echo: Callable[[str], None],
          timeout: float, interval: float = 2.0) -> list[dict[str, Any]]:
    """Stream the events of the environments in `requests` ({name: request id}) until all are Ready;
    return their descriptions. Raise OperationFailed when a request logged an ERROR, WaitTimeout past
    `timeout` (the operation goes on in EB)."""
    feed = EventFeed(eb, application, started, {request: name for name, request in requests.items()}, echo)
    envs = follow(eb, application, feed, {name: name for name in requests}, timeout, interval=interval)
    for name, request in requests.items():
        if request in feed.errors:
            raise OperationFailed(f"{name}: {feed.errors[request]}")
    return list(envs.values())


def settings(eb: Any, application: str, environment: str) -> dict[tuple[str, str], str]:
    """An environment's options, {(namespace, option): value}, as DescribeConfigurationSettings answers; a
    resource's (a scheduled action's) under `RESOURCE.namespace` (option_schema.join_resource)."""
    described = eb.describe_configuration_settings(ApplicationName=application, EnvironmentName=environment)
    return {(join_resource(s["Namespace"], s.get("ResourceName")), s["OptionName"]): s.get("Value", "")
            for s in described["ConfigurationSettings"][0]["OptionSettings"]}


def option_settings(settings: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Settings keyed as `settings` keys them, as UpdateEnvironment's OptionSettings carry them."""
    return [{**_where(namespace, option), "Value": value} for namespace, option, value in settings]


def options_to_remove(keys: list[tuple[str, str]]) -> list[dict[str, str]]:
    """(namespace, option) keys as UpdateEnvironment's OptionsToRemove carry them."""
    return [_where(namespace, option) for namespace, option in keys]


def _where(key: str, option: str) -> dict[str, str]:
    namespace, resource = split_resource(key)
    return {**({"ResourceName": resource} if resource else {}), "Namespace": namespace, "OptionName": option}


__all__ = ["EventFeed", "OperationFailed", "WaitTimeout", "describe", "follow", "option_settings", "options_to_remove",
           "settings", "watch"]
