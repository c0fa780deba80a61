"""A value each LocalCloud serves its own requests with.

moto's backends are one per process, account and region, whichever LocalCloud serves them, while some
settings are each cloud's own (the EB emulation's step time, the SES account's sandbox, the data servers it
runs): a cloud wraps its WSGI app so every request it serves sees its value (`serving`), and the emulation
reads the value of the request it serves (`current`). Outside any request it is the default; the cloud
applies its value itself around what it does in-process (`applied`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PerRequest(Generic[T]):
    def __init__(self, name: str, default: Callable[[], T]) -> None:
        self._value: ContextVar[tuple[T] | None] = ContextVar(name, default=None)
        self._default = default

    def current(self) -> T:
        """The value of the cloud serving the current request; a fresh default outside one (nothing shared)."""
        found = self._value.get()
        return self._default() if found is None else found[0]

    @contextmanager
    def applied(self, value: T) -> Iterator[None]:
        """`value` is the current one for the duration of the block."""
        token = self._value.set((value,))
        try:
            yield
        finally:
            self._value.reset(token)

    def serving(self, app: WSGIApp, value: T) -> WSGIApp:
        """`app`, serving every request with `value` current."""

        def with_value(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self.applied(value):
                return app(environ, start_response)

        return with_value
