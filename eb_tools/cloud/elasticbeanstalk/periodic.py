"""What the emulated EB does on its own, whether or not anyone calls the API (logs shipped to CloudWatch,
scheduled actions applied): a daemon thread doing one round of work every `interval` seconds until stopped."""
from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    def __init__(self, name: str, interval: float, work: Callable[[], None]) -> None:
        self.interval, self._work = interval, work
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self._work()
