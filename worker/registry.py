"""Task registries: a decorator maps a task name to its handler.

Handlers take a TaskContext first and the envelope's arguments as keywords. The
arguments are checked against the handler's signature and type hints before it
runs (`check_arguments`, the one place that does it), so a message with missing,
unknown or ill-typed arguments is rejected, not retried into the dead-letter
queue. Hints may carry a Range: `Annotated[int, Range(1, 10)]` bounds a number,
`Annotated[str, Range(3, 254)]` a text's length; `RowId` fits an id column.

Each task also says, where it is registered, what a process dying inside its
non-idempotent downstream call means for the key (`on_crash`, see worker/ledger.py):
`tasks("email.send")` resends (OnCrash.RESEND, the default: at least once, for mail a
user waits for); `tasks("push.send", on_crash=OnCrash.GIVE_UP)` flags the key instead
(at most once). A handler marks the call with `ctx.sending()` just before making it.
"""
from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from botocore.exceptions import ClientError

from core.db import Database
from core.models import MAX_ROW_ID
from core.settings import Settings
from worker import ledger
from worker.ledger import OnCrash
from worker.sqsd import SqsdMessage

Handler = Callable[..., Any]
SHOWN_CHARS = 60  # how much of a refused value a reason quotes


class Reject(Exception):
    """The task can never succeed (bad input): recorded as rejected with this reason, never retried."""


@dataclass(frozen=True)
class Range:
    """Bounds, inclusive: of a number's value, or of a text's length in characters."""

    low: int
    high: int


RowId = Annotated[int, Range(1, MAX_ROW_ID)]
SCALARS: dict[type, str] = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
                            type(None): "null"}


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
    owner: str = ""  # this delivery's lease on the key

    def sending(self) -> None:
        """Call just before a downstream call that cannot be made idempotent: the ledger records `sending`
        (committed), so a process dying inside the call is known to the next delivery (ledger.LeaseLost if
        the key was taken over meanwhile: then the call must not be made)."""
        ledger.sending(self.database, self.key, self.owner, self.settings.task_lease_seconds)


@dataclass(frozen=True)
class BoundTask:
    """A handler with its checked arguments, and its choice for a crash inside its call."""

    run: Callable[[TaskContext], Any]
    on_crash: OnCrash


def check_arguments(function: Handler, args: dict[str, Any], what: str) -> None:
    """Raise Reject naming the first argument that does not fit `function(ctx, **args)`: its names, then
    the type hints of its parameters (a **params parameter's hint applies to each extra argument)."""
    signature, hints = _described(function)
    try:
        bound = signature.bind(None, **args)
    except TypeError as exc:
        raise Reject(f"wrong arguments for {what}: {exc}") from None
    _, *parameters = signature.parameters.values()  # the first is the TaskContext
    for parameter in parameters:
        if parameter.name not in bound.arguments:
            continue
        value = bound.arguments[parameter.name]
        hint = hints.get(parameter.name, Any)
        given = value.items() if parameter.kind is parameter.VAR_KEYWORD else [(parameter.name, value)]
        for name, item in given:
            problem = _problem(hint, item)
            if problem:
                raise Reject(f"wrong arguments for {what}: {name} must be {problem}, not {shown(item)}")


@lru_cache(maxsize=256)
def _described(function: Handler) -> tuple[inspect.Signature, dict[str, Any]]:
    """A handler's signature and hints, read once: they cost more than a no-op task's ledger work."""
    return inspect.signature(function), get_type_hints(function, include_extras=True)


def _problem(hint: Any, value: Any) -> str | None:
    """What `value` should be to fit `hint`, or None when it fits."""
    origin = get_origin(hint)
    if hint is Any:
        return None
    if origin is Annotated:
        base, *marks = get_args(hint)
        problem = _problem(base, value)
        for mark in marks:
            if problem is None and isinstance(mark, Range):
                size = len(value) if isinstance(value, str) else value
                if not mark.low <= size <= mark.high:
                    unit = " characters long" if isinstance(value, str) else ""
                    problem = f"{_describe(base)} from {mark.low} to {mark.high}{unit}"
        return problem
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if any(_problem(option, value) is None for option in options):
            return None
        return " or ".join(_describe(option) for option in options)
    if hint in (int, float) and isinstance(value, bool):
        return _describe(hint)
    if hint is float and isinstance(value, int):
        return None
    if not isinstance(value, hint):
        return _describe(hint)
    if isinstance(value, str) and not _encodable(value):
        return "valid Unicode text"
    return None


def _describe(hint: Any) -> str:
    if get_origin(hint) is Annotated:
        return _describe(get_args(hint)[0])
    return SCALARS.get(hint, getattr(hint, "__name__", str(hint)))


def _encodable(text: str) -> bool:
    """JSON may carry lone surrogates (\\ud800), which no database, SES or SNS accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(value: Any) -> str:
    """A value as a reason quotes it: its repr, cut short (a message may carry a megabyte of text)."""
    try:
        text = repr(value)
    except RecursionError:  # lists nested nearly as deep as json could parse
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text)} characters)"


def _checkable(hint: Any) -> bool:
    """Whether check_arguments can judge a value against `hint`."""
    if hint is Any or hint in SCALARS:
        return True
    if get_origin(hint) is Annotated:
        base, *marks = get_args(hint)
        return _checkable(base) and all(not isinstance(m, Range) or base in (int, str) for m in marks)
    if get_origin(hint) in (Union, types.UnionType):
        return all(_checkable(option) for option in get_args(hint))
    return False


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._handlers: dict[str, Handler] = {}
        self._on_crash: dict[str, OnCrash] = {}

    def __call__(self, name: str, on_crash: OnCrash = OnCrash.RESEND) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            require_checkable_hints(handler)
            self._handlers[name] = handler
            self._on_crash[name] = on_crash
            return handler

        return register

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def bind(self, name: str, args: dict[str, Any]) -> BoundTask:
        """The handler with its arguments checked; Reject when either is wrong."""
        handler = self._handlers.get(name)
        if handler is None:
            raise Reject(f"unknown {self.kind} {shown(name)}")
        check_arguments(handler, args, name)
        return BoundTask(lambda ctx: handler(ctx, **args), self._on_crash[name])


def require_checkable_hints(function: Handler) -> None:
    """At import: every argument of a task (after the context) has a hint check_arguments can judge."""
    hints = get_type_hints(function, include_extras=True)
    _, *parameters = inspect.signature(function).parameters.values()
    for parameter in parameters:
        if parameter.name not in hints or not _checkable(hints[parameter.name]):
            raise TypeError(f"{function.__qualname__}: argument {parameter.name!r} needs a type hint of "
                            "bool, int, float, str, None, Any, a union of them or Annotated[int|str, Range(...)]")


tasks = Registry("task")
periodic = Registry("periodic task")
