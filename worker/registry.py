"""Task registries: a decorator maps a task name to its handler.

Handlers take a TaskContext first and the envelope's arguments as keywords; the
arguments are bound to the signature before the handler runs, so a message with
wrong arguments is rejected, not retried.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from core.db import Database
from core.settings import Settings
from worker.sqsd import SqsdMessage

Handler = Callable[..., Any]


class Reject(Exception):
    """The task can never succeed (bad input): recorded as rejected with this reason, never retried."""


@contextmanager
def reject_on(codes: set[str], service: str) -> Iterator[None]:
    """Turn an AWS error that no retry can fix into a Reject; others propagate and are retried."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in codes:
            raise Reject(f"{service} refused it: {error.get('Code')}: {error.get('Message', '')}") from None
        raise


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    database: Database
    message: SqsdMessage
    key: str
    trace_id: str | None = None


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._handlers: dict[str, Handler] = {}

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._handlers[name] = handler
            return handler

        return register

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def bind(self, name: str, args: dict[str, Any]) -> Callable[[TaskContext], Any]:
        """The handler with its arguments checked; Reject when either is wrong."""
        handler = self._handlers.get(name)
        if handler is None:
            raise Reject(f"unknown {self.kind} {name!r}")
        signature = inspect.signature(handler)
        try:
            signature.bind(None, **args)
        except TypeError as exc:
            raise Reject(f"wrong arguments for {name}: {exc}") from None
        return lambda ctx: handler(ctx, **args)


tasks = Registry("task")
periodic = Registry("periodic task")
