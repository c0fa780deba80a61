"""How the emulated EB behaves in one local cloud: the settings LocalCloud hands to the extension.

The settings (how long a simulated step takes...) are each cloud's own, served per request (per_request.py):
a cloud applies its settings to every request it serves (`serving_with`, around its WSGI app), and the
backend reads those of the request it serves (`current()`). Outside any request (a fresh backend in a test)
they are EmulationSettings' defaults; the cloud applies its settings itself around what it does in-process
(exporting EB's records).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eb_tools.cloud.elasticbeanstalk.clock import ScheduleClock
from eb_tools.cloud.per_request import PerRequest

if TYPE_CHECKING:
    from eb_tools.cloud.instances.hosting import Hosting


@dataclass
class EmulationSettings:
    """One cloud's; LocalCloud changes them while it runs (LocalCloud.eb_transition_seconds)."""

    transition_seconds: float = 2.0  # how long a simulated launch, update or termination step takes
    max_application_versions: int = 1000  # EB's default quota per account and region; a test may lower it
    hosting: Hosting | None = None  # real instances (instances/hosting.py); None: instances are records only
    schedule_clock: ScheduleClock = field(default_factory=ScheduleClock)  # when scheduled actions are due


_SETTINGS: PerRequest[EmulationSettings] = PerRequest("eb_emulation_settings", EmulationSettings)
current = _SETTINGS.current
applied = _SETTINGS.applied
serving_with = _SETTINGS.serving
