"""Read Elastic Beanstalk environments' settings, and watch them until an operation settles.

Shared by `provision` (creating and configuring environments), `release`
(putting a version on them) and `local` (which runs what they describe). An
environment's Ready status says nothing about success (EB is Ready after a
failed deployment too): an operation failed when
its own request id carries ERROR events, as the eb CLI reads it
(`ebcli/operations/commonops.py`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eb_tools.aws import WaitTimeout, wait_until

APPLICATION_DESCRIPTION = "eb_tools: one application per repository, its stages' environments"


class OperationFailed(Exception):
    """An environment's operation ended with errors; the message names it and EB's first reason."""


def watch(eb: Any, application: str, requests: dict[str, str], started: datetime, echo: Callable[[str], None],
          timeout: float, interval: float = 2.0) -> list[dict[str, Any]]:
    """Stream the events of the environments in `requests` ({name: request id}) until all are Ready;
    return their descriptions. Raise OperationFailed when a request logged an ERROR, WaitTimeout past
    `timeout` (the operation goes on in EB)."""
    seen: set[tuple[str, str, str]] = set()

    def ready() -> list[dict[str, Any]]:
        events = eb.describe_events(ApplicationName=application, StartTime=started)["Events"]
        for event in reversed(events):  # newest first: print oldest first
            key = (event.get("EnvironmentName", ""), str(event["EventDate"]), event["Message"])
            if key[0] in requests and key not in seen:
                seen.add(key)
                echo(f"  {event['EventDate']:%H:%M:%S}  {key[0]:<28} {event['Severity']:<5} {event['Message']}")
        envs: list[dict[str, Any]] = eb.describe_environments(
            ApplicationName=application, EnvironmentNames=list(requests), IncludeDeleted=False)["Environments"]
        return envs if len(envs) == len(requests) and all(e["Status"] == "Ready" for e in envs) else []

    envs = wait_until(ready, timeout, f"{', '.join(requests)} Ready", interval=interval)
    for name, request in requests.items():
        errors = eb.describe_events(ApplicationName=application, EnvironmentName=name, RequestId=request,
                                    Severity="ERROR")["Events"]
        if errors:  # newest first: the last listed came first, and is the cause
            raise OperationFailed(f"{name}: {errors[-1]['Message']}")
    return envs


def settings(eb: Any, application: str, environment: str) -> dict[tuple[str, str], str]:
    """An environment's options, {(namespace, option): value}, as DescribeConfigurationSettings answers."""
    described = eb.describe_configuration_settings(ApplicationName=application, EnvironmentName=environment)
    return {(s["Namespace"], s["OptionName"]): s.get("Value", "")
            for s in described["ConfigurationSettings"][0]["OptionSettings"]}


__all__ = ["OperationFailed", "WaitTimeout", "settings", "watch"]
