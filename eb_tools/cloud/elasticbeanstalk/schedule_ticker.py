"""The thread that applies a cloud's scheduled actions when they are due, whether or not anyone calls the API
(Auto Scaling acts on its own; the simulated clock of EB's operations moves on API calls only).

Every `interval` seconds (half a second) it lets each of the cloud's EB backends (one per region in use) apply
what is due in the environments that cloud serves (scheduled_scaling.py), as a request would: taking moto's
lock and the backend's, under the cloud's emulation settings (its instances' hosting, its schedule's clock).
"""
from __future__ import annotations

import logging

from eb_tools.cloud.elasticbeanstalk.emulation_settings import EmulationSettings, applied
from eb_tools.cloud.elasticbeanstalk.models import eb_local_backends
from eb_tools.cloud.elasticbeanstalk.periodic import Periodic
from eb_tools.cloud.moto_internals import BACKENDS

LOG = logging.getLogger(__name__)


class ScheduleTicker:
    def __init__(self, account: str, settings: EmulationSettings, interval: float = 0.5) -> None:
        self.account, self.settings, self.interval = account, settings, interval
        self._thread = Periodic("eb-scheduled-actions", interval, self._round)

    def start(self) -> ScheduleTicker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def tick(self) -> None:
        """Apply what is due now in every region."""
        with applied(self.settings), BACKENDS:
            for backend in list(dict.values(eb_local_backends[self.account])):
                backend.tick_schedules(self.settings)

    def _round(self) -> None:
        try:
            self.tick()
        except Exception:  # a tick that fails is logged and the next one tries again: the thread lives on
            LOG.exception("applying scheduled actions failed")
