"""What every part of the emulated EB's backend shares: its records, its clock, its events and the lookups.

Each concern of the backend is a mixin of its own module (lifecycle, deployments, saved_configs...) on top
of EBBackendCore; models.py composes LocalEBBackend from them, as moto's backends are composed.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from moto.core.base_backend import BaseBackend

from eb_tools.cloud.elasticbeanstalk import arns, catalogue, emulation_settings, options, policies, services
from eb_tools.cloud.elasticbeanstalk.clock import SimulatedClock
from eb_tools.cloud.elasticbeanstalk.entities import Application, Environment, Event, Version
from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidParameterValue, MissingParameter
from eb_tools.cloud.moto_internals import ServiceException
from eb_tools.formats import option_settings

# An operation's steps: each `when = yield TRANSITION` waits one transition, `when = yield 0.1` a tenth of one
# (a step that polls real instances, hosted.py).
Steps = Generator[float, datetime, None]
TRANSITION = 1.0
B = TypeVar("B", bound="EBBackendCore")
P = ParamSpec("P")
R = TypeVar("R")


def operation(method: Callable[Concatenate[B, P], R]) -> Callable[Concatenate[B, P], R]:
    """An API operation: one at a time (the server is threaded), on the state as of now on the clock."""

    @functools.wraps(method)
    def at_now(self: B, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            self.clock.advance()
            return method(self, *args, **kwargs)

    return at_now


class EBBackendCore(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.applications: dict[str, Application] = {}
        self.environments: dict[str, Environment] = {}
        self.events: list[Event] = []
        self.clock = SimulatedClock()
        self.lock = threading.RLock()
        # The settings of the cloud each environment is served by (its instances' hosting, its schedule's clock):
        # moto's backends are one per process, and each cloud ticks the schedules of its own environments.
        self.served_by: dict[str, emulation_settings.EmulationSettings] = {}
        self._bundles: dict[tuple[str, str, datetime], list[options.Setting]] = {}  # parsed .ebextensions options

    @property
    def transition_seconds(self) -> float:
        """How long a simulated launch, update or termination step takes: the serving cloud's setting."""
        return emulation_settings.current().transition_seconds

    @property
    def max_application_versions(self) -> int:
        """How many application versions the account may hold in the region: the serving cloud's setting."""
        return emulation_settings.current().max_application_versions

    def _later(self, action: Callable[[datetime], None], steps: float = 1.0) -> None:
        self.clock.later(self.transition_seconds * steps, action)

    def _event(self, message: str, severity: str = "INFO", env: Environment | None = None, app: str | None = None,
               version: str | None = None, when: datetime | None = None) -> None:
        # At least 1 ms apart: the eb CLI reads on from (last event + 1 ms), so a closer one would be lost.
        date = when or self.clock.now()
        if self.events and date < self.events[-1].date + timedelta(milliseconds=1):
            date = self.events[-1].date + timedelta(milliseconds=1)
        self.events.append(Event(date, message, severity, app or (env.application if env else None),
                                 env.name if env else None, version))

    # -- applications and versions ---------------------------------------------------------------
    def _create_application(self, name: str, description: str) -> Application:
        if name in self.applications:
            raise InvalidParameterValue(f"Application {name} already exists.")
        self.applications[name] = Application(name=name, description=description, created=self.clock.now(),
                                              arn=arns.arn(self.region_name, self.account_id, "application", name))
        return self.applications[name]

    def _application(self, name: str) -> Application:
        if name not in self.applications:
            raise InvalidParameterValue(f"No Application named '{name}' found.")
        return self.applications[name]

    def _version(self, app_name: str, label: str) -> Version:
        app = self._application(app_name)
        if label not in app.versions:
            raise InvalidParameterValue(f"No Application Version named '{label}' found.")
        return app.versions[label]

    # -- environments: finding them ----------------------------------------------------------------
    def _live(self) -> list[Environment]:
        return [e for e in self.environments.values() if e.status != "Terminated"]

    def _environment(self, env_id: str | None, name: str | None,
                     not_found: type[ServiceException] = InvalidParameterValue) -> Environment:
        if not env_id and not name:
            raise MissingParameter("Either EnvironmentId or EnvironmentName must be specified.")
        for env in self._live():
            if env.id == env_id or (name and env.name == name):
                return env
        raise not_found(f"No Environment found for EnvironmentId = '{env_id}'." if env_id
                        else f"No Environment found for EnvironmentName = '{name}'.")

    def _cname(self, prefix: str) -> str:
        return f"{prefix}.{self.region_name}.elasticbeanstalk.com"

    def _cname_available(self, prefix: str) -> bool:
        return all(not e.cname.startswith(f"{prefix}.") for e in self._live())

    # -- an environment's options --------------------------------------------------------------------
    def _options(self, env: Environment) -> policies.Option:
        """`env`'s effective options: applied to it, else in its version's .ebextensions, else EB's defaults."""
        return options.effective(self._merged(env))

    def _merged(self, env: Environment) -> dict[options.Key, str | None]:
        """Every option of `env` as EB merges them (options.merged), the defaults of its kind of environment."""
        bundle = self._bundle_settings(env)
        chosen = options.effective(options.merged(env.settings, bundle, {}))
        return options.merged(env.settings, bundle, catalogue.defaults(catalogue.Kind.of(env.tier, chosen)))

    def _bundle_settings(self, env: Environment) -> list[options.Setting]:
        """The option settings of the .ebextensions of the version `env` runs, parsed once per version."""
        app = self.applications.get(env.application)
        version = app.versions.get(env.version) if app and env.version else None
        if version is None:
            return []
        key = (version.bucket, version.key, version.created)
        if key not in self._bundles:
            data = services.read_object(self.account_id, version.bucket, version.key)
            if data is None:
                return []
            self._bundles[key] = option_settings.from_bundle(data)[0]
        return self._bundles[key]
