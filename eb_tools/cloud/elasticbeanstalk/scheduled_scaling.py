"""Scheduled actions applied on the schedule's clock: an environment's aws:autoscaling:scheduledaction settings
(formats/scheduled_actions.py) set its Auto Scaling group's sizes when they are due, and its instances follow.

Auto Scaling acts on its own, with no API call: the serving cloud's ticker (LocalCloud) calls `tick_schedules`
every second for the environments it serves, and the latest action due since the last tick sets the group's
minimum, maximum and desired capacity (an unset one kept; desired, when unset, brought within the new bounds).
An action due while an operation runs on the environment is applied once it has ended (the emulation's choice).
Surplus instances are terminated, the latest launched first ("Removed instance [...] from your environment."),
missing ones launched ("Added instance [...] ..."): they boot (Pending), take the environment's version, and
turn Ok once their deployment has ended (real instances) or a transition later. At no instance the environment
is No Data (health.py). A configuration update of aws:autoscaling:asg MinSize or MaxSize gives the group back to
the options, as EB's stack update sets the group's sizes.

An update that sets a scheduled action is refused as Auto Scaling refuses it (API reference,
PutScheduledUpdateGroupAction; users' reports of its ValidationError and AlreadyExists): a StartTime in the past
("Given start time is in the past"), or one another action of the environment starts at ("Scheduled action with
this scheduled start time already exists"). EB's wording around them was not found: the refusal takes its form for
an invalid option value.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import emulation_settings, options, policies
from eb_tools.cloud.elasticbeanstalk.entities import Capacity, Environment, Instance
from eb_tools.cloud.elasticbeanstalk.hosted import POLL
from eb_tools.cloud.elasticbeanstalk.steps import OperationSteps
from eb_tools.formats import scheduled_actions
from eb_tools.formats.option_schema import split_resource
from eb_tools.formats.scheduled_actions import NAMESPACE, ScheduledAction

ASG = "aws:autoscaling:asg"
PAST = "Given start time is in the past"
TAKEN = "Scheduled action with this scheduled start time already exists"


class ScheduledScaling(OperationSteps):
    def tick_schedules(self, served: emulation_settings.EmulationSettings) -> None:
        """Apply what is due by `served`'s schedule clock in the environments that cloud serves (its ticker
        calls this under its settings, `emulation_settings.applied`)."""
        with self.lock:
            now = served.schedule_clock.now()
            for env in self._live():
                if self.served_by.get(env.id) is not served:
                    continue
                if not self._has_schedule(env):
                    env.schedule_checked = None  # actions added later act from then on, not retroactively
                elif env.schedule_checked is None:
                    env.schedule_checked = now  # its actions act from now on
                elif env.status == "Ready" and env.operation is None:  # else: once the operation has ended
                    self._tick(env, now, served.schedule_clock.start)

    def _has_schedule(self, env: Environment) -> bool:
        keys = [key for key, _ in env.settings] + [key for key, _, _ in self._bundle_settings(env)]
        return any(split_resource(key)[0] == NAMESPACE for key in keys)

    def _tick(self, env: Environment, now: datetime, clock_start: datetime) -> None:
        """Apply the last action due since the last tick (since the clock's start, for a clock set back)."""
        checked = env.schedule_checked or now
        since, env.schedule_checked = (checked if checked <= now else min(clock_start, now)), now
        due = scheduled_actions.last_due(scheduled_actions.read(self._merged(env)), now, since)
        if due is not None:
            self._scale(env, due[1], self.clock.now())

    def _scale(self, env: Environment, action: ScheduledAction, when: datetime) -> None:
        """The group's sizes as `action` sets them, and the instances to its desired capacity."""
        option = self._options(env)
        current = env.capacity or Capacity(min=policies.min_size(option), max=policies.max_size(option),
                                           desired=self._size(env))
        low = current.min if action.min_size is None else action.min_size
        high = current.max if action.max_size is None else action.max_size
        desired = action.desired if action.desired is not None else min(max(current.desired, low), high)
        env.capacity = Capacity(min=low, max=high, desired=desired)
        surplus = len(env.instances) - desired
        if surplus > 0:
            self._remove(env, list(reversed(env.instances))[:surplus], when)
        elif surplus < 0:
            added = [self._new_instance(env, when) for _ in range(-surplus)]
            self._event(f"Added {self._named(added)} to your environment.", env=env, when=when)
            self._host(env, added, env.version)  # they boot and take the version; the load balancer waits for them
            self._later(lambda moment: self._booted(env, [i.id for i in added], moment))
        self._report_health(env, when)

    def _booted(self, env: Environment, ids: list[str], when: datetime) -> None:
        """Launched instances take the environment's version once their deployment has ended."""
        booted: list[Instance] = [i for i in env.instances if i.id in ids]
        if self._hosting_busy(booted):
            self._later(lambda moment: self._booted(env, ids, moment), POLL)
            return
        failed = self._hosted_failures(booted)
        for instance in booted:
            instance.take(env.version or "", env.deployment, when, passed=instance.id not in failed)
        self._report_health(env, when)

    def _settings_applied(self, env: Environment, settings: list[options.Setting]) -> None:
        """After settings are applied (a creation, an update): scheduled actions act from now on, and an update
        that sets the group's MinSize or MaxSize gives the group back to the options."""
        if env.schedule_checked is None:
            env.schedule_checked = emulation_settings.current().schedule_clock.now()
        if any(key == ASG and option in ("MinSize", "MaxSize") for key, option, _ in settings):
            env.capacity = None

    def _schedule_refusal(self, env: Environment | None, settings: list[options.Setting]) -> str | None:
        """Auto Scaling's refusal of the scheduled actions `settings` set (see the module docstring)."""
        now = emulation_settings.current().schedule_clock.now()
        starts = _start_times(env.settings if env is not None else {})
        for key, option, value in settings:
            namespace, resource = split_resource(key)
            moment = scheduled_actions.timestamp(str(value)) if option == "StartTime" else None
            if namespace != NAMESPACE or moment is None:
                continue
            where = f"'{value}' (ResourceName: '{resource}', Namespace: '{NAMESPACE}', OptionName: 'StartTime')"
            if moment < now:
                return f"Invalid option value: {where}: {PAST}."
            if any(other != resource and start == moment for other, start in starts.items()):
                return f"Invalid option value: {where}: {TAKEN}."
            starts[resource or ""] = moment
        return None


def _start_times(settings: Mapping[tuple[str, str], object]) -> dict[str, datetime]:
    """{action: its StartTime} of an environment's applied scheduled actions."""
    found = {}
    for (key, option), value in settings.items():
        namespace, resource = split_resource(key)
        moment = scheduled_actions.timestamp(str(value)) if option == "StartTime" else None
        if namespace == NAMESPACE and resource and moment is not None:
            found[resource] = moment
    return found
