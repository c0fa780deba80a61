"""How the emulated EB behaves in one local cloud: the settings LocalCloud hands to the extension.

moto's backends are one per process, account and region, whichever LocalCloud serves them, while the
settings (how long a simulated step takes) are each cloud's own: a cloud applies its settings to every
request it serves (`serving_with`, around its WSGI app), and the backend reads those of the request it
serves (`current()`). Outside any request (a fresh backend in a test) they are EmulationSettings' defaults;
the cloud applies its settings itself around what it does in-process (exporting EB's records).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eb_tools.cloud.instances.hosting import Hosting

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class EmulationSettings:
    """One cloud's; LocalCloud changes them while it runs (LocalCloud.eb_transition_seconds)."""

    transition_seconds: float = 2.0  # how long a simulated launch, update or termination step takes
    max_application_versions: int = 1000  # EB's default quota per account and region; a test may lower it
    hosting: Hosting | None = None  # real instances (instances/hosting.py); None: instances are records only


_CURRENT: ContextVar[EmulationSettings | None] = ContextVar("eb_emulation_settings", default=None)


def current() -> EmulationSettings:
    """The settings of the cloud serving the current request; fresh defaults outside one (nothing shared)."""
    return _CURRENT.get() or EmulationSettings()


@contextmanager
def applied(settings: EmulationSettings) -> Iterator[None]:
    """`settings` are the current ones for the duration of the block."""
    token = _CURRENT.set(settings)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def serving_with(app: WSGIApp, settings: EmulationSettings) -> WSGIApp:
    """`app`, serving every request with `settings` current."""

    def with_settings(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with applied(settings):
            return app(environ, start_response)

    return with_settings
