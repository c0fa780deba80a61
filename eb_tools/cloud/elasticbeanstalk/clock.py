"""The emulation's clocks. The simulated clock: EB's slow operations complete when their time comes, without
threads. The schedule's clock: when scheduled actions are due.

An operation schedules its completion some seconds ahead; `advance()`, which the
backend runs before every API operation, applies what is due in order, so the
state is a function of the calls and the clock. Scheduled actions are judged by
the schedule's clock, the time it is unless a test makes it start elsewhere and
run faster (ScheduleClock), so that a night passes in seconds.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id, serving

Action = Callable[[datetime], None]  # called with the time it was due, which its events carry


class SimulatedClock:
    def __init__(self) -> None:
        self._due: list[tuple[datetime, Action]] = []

    def now(self) -> datetime:
        """The one source of time for the emulation's dates."""
        return datetime.now(UTC)

    @property
    def idle(self) -> bool:
        """Whether nothing is scheduled (every operation has run to its end)."""
        return not self._due

    def later(self, seconds: float, action: Action) -> None:
        """Run `action` `seconds` from now, on behalf of the current request (its events carry its id)."""
        request_id = current_request_id()

        def on_behalf(when: datetime) -> None:
            with serving(request_id):
                action(when)

        self._due.append((self.now() + timedelta(seconds=seconds), on_behalf))

    def advance(self) -> None:
        """Apply every scheduled action that is due, in order (an action may schedule more)."""
        current = self.now()
        while self._due:
            self._due.sort(key=lambda item: item[0])
            when, action = self._due[0]
            if when > current:
                return
            self._due.pop(0)
            action(when)


class ScheduleClock:
    """The time scheduled actions are judged by: `start` (default: the time it is) when the clock is made,
    running `speed` times as fast as time does. A test facility: at speed 1 from now it is the time it is."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"a schedule clock's speed must be above 0, not {speed}")
        self.start, self.speed = start or datetime.now(UTC), speed
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._began) * self.speed)
