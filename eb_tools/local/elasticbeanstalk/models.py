"""State and behaviour of the emulated Elastic Beanstalk (moto's models.py split): one method per operation.

Environments change state on a simulated clock (clock.py): an operation
schedules its completion `transition_seconds` later, and every operation first
applies what is due, emitting the events EB emits (the texts the eb CLI waits for).
"""
from __future__ import annotations

import functools
import random
import string
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException

from eb_tools.local.elasticbeanstalk import arns, deployment, options, platforms, services
from eb_tools.local.elasticbeanstalk.clock import SimulatedClock
from eb_tools.local.elasticbeanstalk.entities import TIERS, Application, Environment, Event, Version
from eb_tools.local.elasticbeanstalk.exceptions import (
    ConfigurationValidation,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidRequest,
    MissingParameter,
    ResourceNotFound,
    TooManyApplicationVersions,
)

SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
P = ParamSpec("P")
R = TypeVar("R")


def operation(method: Callable[Concatenate[LocalEBBackend, P], R]) -> Callable[Concatenate[LocalEBBackend, P], R]:
    """An API operation: one at a time (the server is threaded), on the state as of now on the clock."""

    @functools.wraps(method)
    def at_now(self: LocalEBBackend, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            self.clock.advance()
            return method(self, *args, **kwargs)

    return at_now


class LocalEBBackend(BaseBackend):
    transition_seconds: float = 2.0  # how long a simulated launch, update or termination takes
    max_application_versions: int = 1000  # EB's default quota, per account and region; a test can lower it

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.applications: dict[str, Application] = {}
        self.environments: dict[str, Environment] = {}
        self.events: list[Event] = []
        self.clock = SimulatedClock()
        self.lock = threading.RLock()

    def _later(self, action: Callable[[datetime], None], steps: float = 1.0) -> None:
        self.clock.later(self.transition_seconds * steps, action)

    def _event(self, message: str, severity: str = "INFO", env: Environment | None = None, app: str | None = None,
               version: str | None = None, when: datetime | None = None) -> None:
        # Strictly increasing dates: the eb CLI reads on from (last event + 1 ms).
        date = when or self.clock.now()
        if self.events and date <= self.events[-1].date:
            date = self.events[-1].date + timedelta(milliseconds=1)
        self.events.append(Event(date, message, severity, app or (env.application if env else None),
                                 env.name if env else None, version))

    # -- platforms ---------------------------------------------------------------------------------
    @operation
    def list_platform_branches(self, filters: list[dict[str, Any]]) -> list[dict[str, object]]:
        branches = [p.branch_summary() for p in platforms.PLATFORMS]
        return [b for b in branches if platforms.matches(b, filters)]

    @operation
    def list_platform_versions(self, filters: list[dict[str, Any]]) -> list[dict[str, object]]:
        summaries = [p.summary(self.region_name) for p in platforms.PLATFORMS]
        return [s for s in summaries if platforms.matches(s, filters)]

    @operation
    def describe_platform_version(self, arn: str | None) -> dict[str, object]:
        platform = platforms.find(arn or "", self.region_name)
        if platform is None:
            raise InvalidParameterValue(f"No Platform named '{arn}' found.")
        return platform.description(self.region_name)

    @operation
    def solution_stacks(self) -> list[str]:
        return [p.solution_stack for p in platforms.PLATFORMS]

    # -- applications and versions ---------------------------------------------------------------
    @operation
    def storage_location(self) -> str:
        bucket = f"elasticbeanstalk-{self.region_name}-{self.account_id}"
        services.ensure_bucket(self.account_id, self.region_name, bucket)
        return bucket

    @operation
    def create_application(self, name: str, description: str) -> Application:
        return self._create_application(name, description)

    def _create_application(self, name: str, description: str) -> Application:
        if name in self.applications:
            raise InvalidParameterValue(f"Application {name} already exists.")
        self.applications[name] = Application(name=name, description=description, created=self.clock.now(),
                                              arn=arns.arn(self.region_name, self.account_id, "application", name))
        return self.applications[name]

    @operation
    def describe_applications(self, names: list[str]) -> list[Application]:
        return [a for a in self.applications.values() if not names or a.name in names]

    def _application(self, name: str) -> Application:
        if name not in self.applications:
            raise InvalidParameterValue(f"No Application named '{name}' found.")
        return self.applications[name]

    @operation
    def delete_application(self, name: str, force: bool) -> None:
        self._application(name)
        running = [e for e in self._live() if e.application == name]
        if running and not force:
            raise InvalidParameterValue(f"Unable to delete application {name} because it has running "
                                        f"environments: {', '.join(e.name for e in running)}")
        for env in running:
            self._terminate(env)
        del self.applications[name]

    @operation
    def create_version(self, app_name: str, label: str, description: str, bucket: str, key: str,
                       auto_create: bool, process: bool) -> Version:
        """A version of a bundle in S3; `process` is the API's Process (the bundle is read and checked)."""
        if app_name not in self.applications and auto_create:
            self._create_application(app_name, "")
        app = self._application(app_name)
        if label in app.versions:
            raise InvalidParameterValue(f"Application Version {label} already exists.")
        if sum(len(a.versions) for a in self.applications.values()) >= self.max_application_versions:
            # AWS's message (quoted in boto/boto3#920), with the quota it applies.
            raise TooManyApplicationVersions(
                f"You cannot have more than {self.max_application_versions} Application Versions. Either remove "
                "some Application Versions or request a limit increase.")
        if not bucket or not key:
            raise MissingParameter("SourceBundle with S3Bucket and S3Key is required.")
        if services.read_object(self.account_id, bucket, key) is None:
            raise InvalidParameterCombination(
                f"Unable to download from S3 location (Bucket: {bucket}  Key: {key}). Reason: Not Found")
        app.versions[label] = Version(
            application=app_name, label=label, description=description, bucket=bucket, key=key,
            arn=arns.arn(self.region_name, self.account_id, "applicationversion", app_name, label),
            created=self.clock.now(), status="PROCESSED" if process else "UNPROCESSED")
        return app.versions[label]

    @operation
    def describe_versions(self, app_name: str | None, labels: list[str], limit: int | None) -> list[Version]:
        """Newest first, at most `limit`, of one application or of all."""
        apps = [self._application(app_name)] if app_name else list(self.applications.values())
        found = [v for app in apps for v in app.versions.values() if not labels or v.label in labels]
        return sorted(found, key=lambda v: v.created, reverse=True)[: limit or None]

    def _version(self, app_name: str, label: str) -> Version:
        app = self._application(app_name)
        if label not in app.versions:
            raise InvalidParameterValue(f"No Application Version named '{label}' found.")
        return app.versions[label]

    @operation
    def delete_version(self, app_name: str, label: str) -> None:
        self._version(app_name, label)
        users = [e.name for e in self._live() if e.application == app_name and e.version == label]
        if users:
            raise InvalidParameterValue(f"Unable to delete application version '{label}' because it is being "
                                        f"used by environment(s): {', '.join(users)}")
        del self.applications[app_name].versions[label]

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

    @operation
    def check_dns(self, prefix: str) -> tuple[bool, str]:
        """Whether `prefix` is free, and the CNAME it would give."""
        return self._cname_available(prefix), self._cname(prefix)

    @operation
    def describe_environments(self, app: str | None, label: str | None, ids: list[str], names: list[str],
                              include_deleted: bool, back_to: datetime | None) -> list[Environment]:
        return [e for e in self.environments.values()
                if e.listed(include_deleted, back_to) and (not app or e.application == app)
                and (not label or e.version == label) and (not (ids or names) or e.id in ids or e.name in names)]

    @operation
    def health(self, env_id: str | None, name: str | None) -> tuple[Environment, datetime]:
        """The environment as the enhanced-health operations see it, and when they read it."""
        return self._environment(env_id, name, InvalidRequest), self.clock.now()

    @operation
    def environment_resources(self, env_id: str | None, name: str | None) -> dict[str, object]:
        return self._environment(env_id, name).resources()

    @operation
    def configuration_settings(self, app: str | None, name: str | None) -> dict[str, object]:
        env = self._environment(None, name)
        if app and env.application != app:
            raise InvalidParameterValue(f"No Environment found for EnvironmentName = '{env.name}'.")
        return env.configuration()

    @operation
    def validate_settings(self, app: str, name: str | None,
                          settings: list[options.Setting]) -> list[dict[str, str]]:
        """EB's message for each refused setting, in the tier of environment `name` (web without one)."""
        tier = self._environment(None, name).tier if name else "WebServer"
        self._application(app)
        return [{"Message": problems[0], "Severity": "error", "Namespace": namespace, "OptionName": option}
                for namespace, option, value in settings
                if (problems := options.validate([(namespace, option, value)], tier))]

    # -- environments: their lifecycle -------------------------------------------------------------
    @operation
    def create_environment(self, app_name: str, name: str, tier: str, platform_ref: str | None,
                           cname_prefix: str | None, version: str | None, description: str,
                           settings: list[options.Setting], tags: dict[str, str]) -> Environment:
        if tier not in TIERS:
            raise InvalidParameterValue(f"Tier {tier} is not valid; use WebServer or Worker.")
        self._application(app_name)
        if not 4 <= len(name) <= 40 or not all(c.isalnum() or c == "-" for c in name) or name[0] == "-":
            raise InvalidParameterValue(f"Value {name} at 'EnvironmentName' failed to satisfy constraint: "
                                        "Member must have length between 4 and 40 and contain only letters, "
                                        "digits and hyphens")
        if any(e.name == name for e in self._live()):
            raise InvalidParameterValue(f"Environment {name} already exists.")
        platform = platforms.find(platform_ref or "", self.region_name)
        if platform is None:
            raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                        else "No platform or solution stack was specified.")
        if version:
            self._version(app_name, version)
        problems = options.validate(settings, tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        prefix = cname_prefix or name
        if tier == "WebServer" and not self._cname_available(prefix):
            raise InvalidParameterValue(f"DNS name ({self._cname(prefix)}) is not available.")
        created = self.clock.now()
        env_id = "e-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
        env = Environment(id=env_id, name=name, application=app_name, tier=tier, platform=platform,
                          region=self.region_name, account=self.account_id,
                          cname=self._cname(prefix) if tier == "WebServer" else "", version=version,
                          description=description, settings={(n, o): v for n, o, v in settings}, tags=tags,
                          created=created, updated=created)
        self.environments[env_id] = env
        self._event("createEnvironment is starting.", env=env)
        if tier == "Worker":
            env.queue_url = str(env.settings.get(("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")) or "") or \
                services.make_worker_queue(self.account_id, self.region_name, f"awseb-{env_id}-stack-AWSEBWorkerQueue")
            self._event(f"Created SQS queue for worker environment: {env.queue_url}", env=env)
        self._later(lambda when: self._finish_launch(env, version, when))
        return env

    def _finish_launch(self, env: Environment, version: str | None, when: datetime) -> None:
        failure = self._deploy_problem(env, version) if version else None
        if failure:
            env.version = None  # nothing was deployed
            env.status, env.health, env.health_status, env.updated = "Ready", "Red", "Severe", when
            self._event(failure, "ERROR", env=env, when=when, version=version)
            self._event("Create environment operation is complete, but with errors. For more information, "
                        "see troubleshooting documentation.", "ERROR", env=env, when=when)
            return
        env.status, env.health, env.health_status, env.updated = "Ready", "Green", "Ok", when
        if version:
            self._event("Application deployment completed successfully.", env=env, when=when, version=version)
        self._event(f"Successfully launched environment: {env.name}", env=env, when=when)

    def _deploy_problem(self, env: Environment, label: str) -> str | None:
        version = self._version(env.application, label)
        return deployment.problem(version, services.read_object(self.account_id, version.bucket, version.key),
                                  env.tier)

    @operation
    def update_environment(self, env_id: str | None, name: str | None, version: str | None,
                           settings: list[options.Setting], remove: list[tuple[str, str]],
                           description: str | None) -> Environment:
        env = self._environment(env_id, name)
        if env.status != "Ready":
            raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                        "operation. Must be Ready.")
        if version:
            self._version(env.application, version)
        problems = options.validate(settings, env.tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        env.status, env.updated = "Updating", self.clock.now()
        if description is not None:
            env.description = description
        self._event("Environment update is starting.", env=env)
        if version:
            self._event("Deploying new version to instance(s).", env=env, version=version)
        self._later(lambda when: self._finish_update(env, version, settings, remove, when))
        return env

    def _finish_update(self, env: Environment, version: str | None, settings: list[options.Setting],
                       remove: list[tuple[str, str]], when: datetime) -> None:
        if env.status != "Updating":
            return  # aborted meanwhile
        failure = self._deploy_problem(env, version) if version else None
        env.updated = when
        if failure:
            self._fail_update(env, version, failure, when)
            return
        for key in remove:
            env.settings.pop(key, None)
        env.settings.update({(n, o): v for n, o, v in settings})
        if version:
            env.version = version
            self._event("New application version was deployed to running EC2 instances.", env=env, when=when,
                        version=version)
        env.status, env.health, env.health_status = "Ready", "Green", "Ok"
        self._event("Environment update completed successfully.", env=env, when=when)

    def _fail_update(self, env: Environment, version: str | None, failure: str, when: datetime) -> None:
        """EB's rollback: health Red, the previous version kept, serving again one transition later."""
        previous = env.version
        env.status, env.health, env.health_status = "Ready", "Red", "Severe"
        self._event(failure, "ERROR", env=env, when=when, version=version)
        self._event("Environment health has transitioned from Ok to Severe. Application update failed.",
                    "WARN", env=env, when=when)
        self._event(f"The environment was rolled back to version {previous}." if previous else
                    "The environment has no previous version to roll back to.", "ERROR", env=env, when=when)
        self._event("Update environment operation is complete, but with errors. For more information, "
                    "see troubleshooting documentation.", "ERROR", env=env, when=when)
        if previous:
            self._later(lambda later: self._recovered(env, later))

    def _recovered(self, env: Environment, when: datetime) -> None:
        """The instances run the previous version again: health comes back."""
        if env.status == "Ready" and env.health == "Red":
            env.health, env.health_status, env.updated = "Green", "Ok", when
            self._event("Environment health has transitioned from Severe to Ok.", env=env, when=when)

    @operation
    def abort(self, env_id: str | None, name: str | None) -> None:
        env = self._environment(env_id, name)
        if env.status != "Updating":
            raise InvalidParameterValue(f"Environment named {env.name} has no abortable operation in progress.")
        env.status, env.updated = "Ready", self.clock.now()
        self._event("Environment update was aborted; the environment keeps its previous version.", "WARN", env=env)

    @operation
    def terminate(self, env_id: str | None, name: str | None) -> Environment:
        return self._terminate(self._environment(env_id, name))

    def _terminate(self, env: Environment) -> Environment:
        if env.status == "Terminating":
            raise InvalidParameterValue(f"Environment named {env.name} is already terminating.")
        env.status, env.updated = "Terminating", self.clock.now()
        self._event("terminateEnvironment is starting.", env=env)

        def finish(when: datetime) -> None:
            env.status, env.health, env.health_status, env.terminated_at, env.updated = (
                "Terminated", "Grey", "Unknown", when, when)
            self._event("terminateEnvironment completed successfully.", env=env, when=when)

        self._later(finish)
        return env

    @operation
    def swap_cnames(self, source_id: str | None, source_name: str | None, destination_id: str | None,
                    destination_name: str | None) -> None:
        source = self._environment(source_id, source_name)
        destination = self._environment(destination_id, destination_name)
        for env in (source, destination):
            if env.tier != "WebServer":
                raise InvalidParameterValue(f"Environment {env.name} is a worker environment; only web server "
                                            "environments have a CNAME to swap.")
            if env.status != "Ready":
                raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                            "operation. Must be Ready.")
        source.cname, destination.cname = destination.cname, source.cname
        for env in (source, destination):
            env.updated = self.clock.now()
            self._event(f"Completed swapping CNAMEs for environments '{source.name}' and '{destination.name}'.",
                        env=env)

    # -- events and tags ---------------------------------------------------------------------------
    @operation
    def describe_events(self, app: str | None, env_name: str | None, env_id: str | None, version: str | None,
                        start: datetime | None, end: datetime | None, severity: str | None,
                        request_id: str | None, limit: int | None) -> list[Event]:
        """Newest first, at most `limit`; `start` is inclusive (the eb CLI's cursor), `end` exclusive."""
        if env_id:
            env_name = next((e.name for e in self.environments.values() if e.id == env_id), env_id)
        minimum = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        found = [
            e for e in self.events
            if (not app or e.application == app) and (not env_name or e.environment == env_name)
            and (not version or e.version == version) and (not start or e.date >= start)
            and (not end or e.date < end) and SEVERITIES.index(e.severity) >= minimum
            and (not request_id or e.request_id == request_id)
        ]
        return sorted(found, key=lambda e: e.date, reverse=True)[: limit or None]

    def _tagged(self, arn: str) -> Environment:
        """The resource `arn` names; environments are the only ones with tags here."""
        for env in self._live():
            if env.arn == arn:
                return env
        raise ResourceNotFound(f"Resource not found for ARN '{arn}'.")

    @operation
    def update_tags(self, arn: str, add: dict[str, str], remove: list[str]) -> None:
        tags = self._tagged(arn).tags
        tags.update(add)
        for key in remove:
            tags.pop(key, None)

    @operation
    def list_tags(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)


eb_local_backends = BackendDict(LocalEBBackend, "elasticbeanstalk")
