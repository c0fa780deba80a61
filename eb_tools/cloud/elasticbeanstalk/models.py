"""State and behaviour of the emulated Elastic Beanstalk (moto's models.py split): one method per operation.

Environments change state on a simulated clock (clock.py): an operation runs
in steps (a launch, a deployment batch, a rollback), each `transition_seconds`
after the one before, and every API operation first applies what is due,
emitting the events EB emits (the texts the eb CLI waits for). Nothing happens
that no operation started: a failed deployment stays failed until the next one.
"""
from __future__ import annotations

import functools
import random
import string
import threading
from collections.abc import Callable, Generator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from moto.core.base_backend import BackendDict, BaseBackend

from eb_tools.cloud.elasticbeanstalk import (
    arns,
    catalogue,
    deployment,
    instance_logs,
    options,
    platforms,
    policies,
    saved_configs,
    services,
    storage,
)
from eb_tools.cloud.elasticbeanstalk import health as enhanced
from eb_tools.cloud.elasticbeanstalk.clock import SimulatedClock
from eb_tools.cloud.elasticbeanstalk.entities import (
    TIERS,
    Application,
    Environment,
    Event,
    Instance,
    Operation,
    Template,
    Version,
)
from eb_tools.cloud.elasticbeanstalk.exceptions import (
    ConfigurationValidation,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidRequest,
    MissingParameter,
    ResourceNotFound,
    TooManyApplicationVersions,
)
from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id, serving
from eb_tools.cloud.moto_internals import ServiceException

NO_PLATFORM = "Unable to determine base for template pack (no solution stack)"  # EB's (ebcli's create.noplatform)


SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
Steps = Generator[None, datetime, None]  # an operation's steps: each `when = yield` waits one transition
# EB's words (users' event logs, e.g. rennokki/laravel-aws-eb#71 and eb deploy transcripts), except where noted.
ABORTED_DEPLOYMENT = ("During an aborted deployment, some instances may have deployed the new application version. "
                      "To ensure all instances are running the same version, re-deploy the appropriate application "
                      "version.")
NEW_INSTANCES = {
    "Immutable": "Immutable deployment policy enabled. Launching one instance with the new settings to verify health.",
    # The emulation's words: it runs TrafficSplitting as Immutable (no traffic is split).
    "TrafficSplitting": "Traffic-splitting deployment policy enabled. Launching one instance with the new settings "
                        "to verify health."}
# The emulation's words, where EB's were not found.
ABORTING = "Aborting the environment update: no further batch is deployed."
ROLLING_BACK = "Rolling back to the previous configuration."
TERMINATING_NEW = "Terminating the instance(s) this deployment launched; the others are unchanged."
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
        # At least 1 ms apart: the eb CLI reads on from (last event + 1 ms), so a closer one would be lost.
        date = when or self.clock.now()
        if self.events and date < self.events[-1].date + timedelta(milliseconds=1):
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
    def configuration_settings(self, app: str | None, name: str | None, template: str | None) -> dict[str, object]:
        """An environment's every option (its effective configuration), or a saved configuration's settings."""
        if template:
            if name:  # the emulation's words
                raise InvalidParameterCombination("You cannot specify both an environment name and a template name.")
            return self._template(app or "", template).configuration(self.region_name)
        env = self._environment(None, name)
        if app and env.application != app:
            raise InvalidParameterValue(f"No Environment found for EnvironmentName = '{env.name}'.")
        return env.configuration(self._merged(env))

    @operation
    def configuration_options(self, app: str | None, name: str | None, template: str | None,
                              platform_ref: str | None, tier: str | None,
                              wanted: list[tuple[str, str]]) -> tuple[platforms.Platform, str, list[dict[str, object]]]:
        """DescribeConfigurationOptions: the options an environment (or template, or platform and tier) takes,
        each with its default and what values it accepts."""
        if name:
            env = self._environment(None, name)
            platform, tier = env.platform, env.tier
            defaults = catalogue.defaults(catalogue.Kind.of(tier, options.effective(self._merged(env))))
        elif template:
            saved = self._template(app or "", template)
            platform, tier, defaults = saved.platform, saved.tier, self._defaults(saved.tier, saved.settings)
        else:
            found = platforms.find(platform_ref or "", self.region_name)
            if found is None:
                raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                            else "No platform or solution stack was specified.")
            platform, tier = found, tier or "WebServer"
            defaults = self._defaults(tier, {})
        described = [options.describe_option(namespace, option, default)
                     for (namespace, option), default in sorted(defaults.items())
                     if not wanted or (namespace, option) in wanted or (namespace, "") in wanted]
        return platform, tier, described

    def _defaults(self, tier: str, settings: dict[options.Key, object]) -> dict[options.Key, str | None]:
        return catalogue.defaults(catalogue.Kind.of(tier, options.effective(options.merged(settings, [], {}))))

    @operation
    def validate_settings(self, app: str, name: str | None, template: str | None,
                          settings: list[options.Setting]) -> list[dict[str, str]]:
        """EB's message for each refused setting, in the tier of environment `name` (web without one); with
        a template (`eb config put` validates the file it uploaded), its settings are checked too."""
        self._application(app)
        tier = self._environment(None, name).tier if name else "WebServer"
        if template:
            saved = self._template(app, template)
            tier, settings = saved.tier, [(n, o, v) for (n, o), v in saved.settings.items()] + settings
        return [{"Message": problems[0], "Severity": "error", "Namespace": namespace, "OptionName": option}
                for namespace, option, value in settings
                if (problems := options.validate([(namespace, option, value)], tier))]

    # -- environments: their lifecycle -------------------------------------------------------------
    @operation
    def create_environment(self, app_name: str, name: str, tier: str | None, platform_ref: str | None,
                           cname_prefix: str | None, version: str | None, description: str,
                           settings: list[options.Setting], tags: dict[str, str],
                           template: str | None = None) -> Environment:
        if template:  # a saved configuration: its platform, tier and settings, under the request's
            saved = self._template(app_name, template)
            platform_ref = platform_ref or saved.platform.arn_in(self.region_name)
            tier = tier or saved.tier
            settings = [(n, o, v) for (n, o), v in saved.settings.items()] + settings
        tier = tier or "WebServer"
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
        for _ in range(policies.min_size(self._options(env))):
            self._new_instance(env, created)
        launch = Operation(kind="launch", request_id=current_request_id(), started=created, label=version,
                           abortable=False)
        self._start(env, launch, self._launch(env, launch))
        return env

    def _options(self, env: Environment) -> policies.Option:
        """`env`'s effective options: applied to it, else in its version's .ebextensions, else EB's defaults."""
        return options.effective(self._merged(env))

    def _merged(self, env: Environment) -> dict[options.Key, str | None]:
        """Every option of `env` as EB merges them (options.merged), the defaults of its kind of environment."""
        bundle: list[options.Setting] = []
        app = self.applications.get(env.application)
        version = app.versions.get(env.version) if app and env.version else None
        data = services.read_object(self.account_id, version.bucket, version.key) if version else None
        if data is not None:
            bundle = options.from_bundle(data)[0]
        chosen = options.effective(options.merged(env.settings, bundle, {}))
        return options.merged(env.settings, bundle, catalogue.defaults(catalogue.Kind.of(env.tier, chosen)))

    def _deploy_problem(self, env: Environment, label: str) -> str | None:
        version = self._version(env.application, label)
        return deployment.problem(version, services.read_object(self.account_id, version.bucket, version.key),
                                  env.tier)

    def _fails(self, env: Environment, label: str) -> bool:
        return deployment.fails(self._version(env.application, label), env.tier, env.tags)

    def _new_instance(self, env: Environment, when: datetime) -> Instance:
        """An instance that boots in `env` (Pending), in the next of three zones."""
        instance = Instance(id="i-" + "".join(random.choices("0123456789abcdef", k=17)), launched=when,
                            zone=f"{env.region}{'abc'[len(env.instances) % 3]}", causes=[enhanced.BOOTING])
        env.instances.append(instance)
        return instance

    @staticmethod
    def _named(instances: list[Instance]) -> str:
        """EB's way of naming instances in an event: "instance [i-1]", "instances [i-1, i-2]"."""
        return f"instance{'s' if len(instances) > 1 else ''} [{', '.join(i.id for i in instances)}]"

    def _remove(self, env: Environment, instances: list[Instance], when: datetime) -> None:
        gone = {i.id for i in instances}
        env.instances = [i for i in env.instances if i.id not in gone]
        if instances:
            self._event(f"Removed {self._named(instances)} from your environment.", env=env, when=when)

    def _fit(self, env: Environment, when: datetime, spare: list[Instance] | None = None) -> None:
        """Back to the effective MinSize: surplus instances terminated (`spare` ones first, then the latest
        launched), missing ones launched on the expected version."""
        target = policies.min_size(self._options(env))
        spare_ids = [i.id for i in spare or []]
        order = [i for i in reversed(env.instances) if i.id in spare_ids] + \
            [i for i in reversed(env.instances) if i.id not in spare_ids]
        self._remove(env, order[:max(0, len(env.instances) - target)], when)
        added = [self._new_instance(env, when) for _ in range(target - len(env.instances))]
        for instance in added:
            instance.take(env.version or "", env.deployment, when, passed=True)
        if added:
            self._event(f"Added {self._named(added)} to your environment.", env=env, when=when)

    # Steps: the clock runs one step per transition (_start); each `when = yield` waits for the next.
    def _start(self, env: Environment, op: Operation, steps: Steps) -> None:
        """Run `steps` on behalf of `op`: at once up to its first yield, then a step every transition, as
        long as `op` is the environment's operation (an abort or a termination replaces it)."""
        env.operation = op
        with serving(op.request_id):  # the events of every step carry the request id of the operation
            next(steps)
            self._resume_later(env, op, steps)

    def _resume_later(self, env: Environment, op: Operation, steps: Steps) -> None:
        def resume(when: datetime) -> None:
            if env.operation is not op:
                return
            try:
                steps.send(when)
            except StopIteration:
                return
            self._resume_later(env, op, steps)

        self._later(resume)

    def _settle(self, env: Environment, when: datetime) -> None:
        env.status, env.operation, env.updated = "Ready", None, when

    def _report_health(self, env: Environment, when: datetime) -> None:
        """The health transition event, when the environment's health is not the one last announced."""
        status, causes = env.assess(when)
        if status != env.reported_health:
            self._event(enhanced.transition(env.reported_health, status, causes),
                        "WARN" if status in enhanced.BAD else "INFO", env=env, when=when)
            env.reported_health = status

    def _fail(self, env: Environment, operation_name: str, when: datetime) -> None:
        """The end of a failed operation: Ready, the health it leaves, EB's last word."""
        self._settle(env, when)
        self._report_health(env, when)
        self._event(f"{operation_name} environment operation is complete, but with errors. For more information, "
                    "see troubleshooting documentation.", "ERROR", env=env, when=when)

    def _failed_checks(self, env: Environment, instances: list[Instance], label: str, when: datetime) -> None:
        ids = ",".join(i.id for i in instances)
        self._event(f"Instance id(s) '{ids}' did not pass health check after command execution. Aborting the "
                    "operation.", "ERROR", env=env, when=when, version=label)
        self._event("Failed to deploy application.", "ERROR", env=env, when=when, version=label)

    def _refused(self, env: Environment, label: str, when: datetime) -> bool:
        """Whether EB refuses the bundle of `label`, which fails the deployment before any instance changes."""
        problem = self._deploy_problem(env, label)
        if problem:
            self._event(problem, "ERROR", env=env, when=when, version=label)
            self._event("Failed to deploy application.", "ERROR", env=env, when=when, version=label)
            self._fail(env, "Update", when)
        return problem is not None

    def _launch(self, env: Environment, op: Operation) -> Steps:
        """The instances boot, then take the version (if any) all at once."""
        when = yield
        label = op.label
        if label and (problem := self._deploy_problem(env, label)):
            for instance in env.instances:
                instance.health, instance.causes = "Severe", [enhanced.NOT_DEPLOYED]
            env.version = None
            self._event(problem, "ERROR", env=env, when=when, version=label)
            self._fail(env, "Create", when)
            return
        if label:
            env.deployments += 1
            op.deployment = env.deployments
            passed = not self._fails(env, label)
            for instance in env.instances:
                instance.take(label, op.deployment, when, passed)
            if not passed:
                env.version = None  # nothing deployed successfully: EB expects no version ("n/a")
                self._failed_checks(env, env.instances, label, when)
                self._fail(env, "Create", when)
                return
            env.deployment = op.deployment
            self._event("Application deployment completed successfully.", env=env, when=when, version=label)
        for instance in env.instances:
            if instance.deployment is None:
                instance.health, instance.causes = "Ok", []
        self._settle(env, when)
        self._event(f"Successfully launched environment: {env.name}", env=env, when=when)
        self._report_health(env, when)

    @operation
    def update_environment(self, env_id: str | None, name: str | None, version: str | None,
                           settings: list[options.Setting], remove: list[tuple[str, str]],
                           description: str | None, template: str | None = None) -> Environment:
        env = self._environment(env_id, name)
        if template:  # a saved configuration's settings, under the request's
            settings = [(n, o, v) for (n, o), v in self._template(env.application, template).settings.items()] \
                + settings
        if env.status != "Ready":
            raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                        "operation. Must be Ready.")
        if version:
            self._version(env.application, version)
        problems = options.validate(settings, env.tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        now = self.clock.now()
        env.status, env.updated = "Updating", now
        self._event("Environment update is starting.", env=env)
        op = Operation(kind="deploy" if version else "configure", request_id=current_request_id(), started=now,
                       label=version, settings=settings, remove=remove, description=description)
        if not version:
            self._start(env, op, self._configure(env, op))
            return env
        policy = policies.deployment_policy(self._options(env))
        env.deployments += 1
        op.deployment, op.immutable = env.deployments, policy.immutable
        self._start(env, op, self._deploy_to_new_instances(env, op, policy) if policy.immutable
                    else self._deploy_in_place(env, op, policy))
        return env

    def _apply(self, env: Environment, op: Operation) -> None:
        """What a successful update changes besides the version: settings (a worker's queue too) and description."""
        for key in op.remove:
            env.settings.pop(key, None)
        env.settings.update({(n, o): v for n, o, v in op.settings})
        if env.queue_url and env.settings.get(("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")):
            env.queue_url = str(env.settings[("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")])
        if op.description is not None:
            env.description = op.description

    def _deploy_in_place(self, env: Environment, op: Operation, policy: policies.DeploymentPolicy) -> Steps:
        """AllAtOnce, Rolling, RollingWithAdditionalBatch: batch after batch, a transition each; the first
        batch that fails its health checks stops the deployment where it stands (no rollback)."""
        label = str(op.label)
        self._event("Deploying new version to instance(s).", env=env, version=label)
        when = yield
        if self._refused(env, label, when):
            return
        fails = self._fails(env, label)
        batches = policy.batches(env.instances)
        if policy.name == "RollingWithAdditionalBatch":
            additional = [self._new_instance(env, when) for _ in range(len(batches[0]))]
            op.launched = [i.id for i in additional]
            self._event(f"Added {self._named(additional)} to your environment.", env=env, when=when)
            batches.insert(0, additional)
        for number, batch in enumerate(batches, 1):
            if policy.name != "AllAtOnce":
                self._event(f"Batch {number}: Starting application deployment on instance(s) "
                            f"[{', '.join(i.id for i in batch)}].", env=env, when=when)
            op.deploying = {i.id: (i.health, i.causes) for i in batch}
            for instance in batch:
                instance.health, instance.causes = "Info", [enhanced.DEPLOYING]
            when = yield
            op.deploying, op.launched = {}, []  # from here on an abort keeps what this batch did
            for instance in batch:
                instance.take(label, op.deployment, when, passed=not fails)
            if fails:
                self._failed_checks(env, batch, label, when)
                self._event(ABORTED_DEPLOYMENT, "ERROR", env=env, when=when, version=label)
                self._give_back(env, op, when)
                self._fail(env, "Update", when)
                return
            if policy.name != "AllAtOnce":
                self._event(f"Batch {number}: Completed application deployment.", env=env, when=when)
        self._succeed(env, op, when)

    def _deploy_to_new_instances(self, env: Environment, op: Operation,
                                 policy: policies.DeploymentPolicy) -> Steps:
        """Immutable (and TrafficSplitting): a test instance, then as many more as the environment runs, a
        transition each; they replace the originals when all pass their health checks, else they are
        terminated and the originals are untouched."""
        label = str(op.label)
        when = yield
        if self._refused(env, label, when):
            return
        fails = self._fails(env, label)
        originals = list(env.instances)
        self._event(NEW_INSTANCES[policy.name], env=env, when=when)
        suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
        self._event(f"Created temporary auto scaling group awseb-{env.id}-immutable-stack-"
                    f"AWSEBAutoScalingGroup-{suffix}.", env=env, when=when)
        counts = [1, len(originals) - 1] if len(originals) > 1 else [1]
        for number, count in enumerate(counts):
            batch = [self._new_instance(env, when) for _ in range(count)]
            op.launched += [i.id for i in batch]
            op.deploying = {i.id: (i.health, i.causes) for i in batch}
            self._event(f"Added {self._named(batch)} to your environment.", env=env, when=when)
            when = yield
            op.deploying = {}
            for instance in batch:
                instance.take(label, op.deployment, when, passed=not fails)
            if fails:
                self._failed_checks(env, batch, label, when)
                self._terminate_launched(env, op, when)
                self._fail(env, "Update", when)
                return
            self._event("Test instance passed health checks. Launching remaining new instances."
                        if number == 0 and len(counts) > 1 else "Successfully launched all instances.",
                        env=env, when=when)
        self._event("Deployment succeeded. Terminating old instances and temporary Auto Scaling group.", env=env,
                    when=when)
        op.launched = []
        self._remove(env, originals, when)
        self._succeed(env, op, when)

    def _give_back(self, env: Environment, op: Operation, when: datetime) -> None:
        """A deployment in place that stops early returns to the environment's size all the same (the
        additional batch's capacity): the instances it did not reach are the surplus, the failed batch stays
        (the emulation's choice: EB restores its Auto Scaling group's size and the group picks)."""
        self._fit(env, when, spare=[i for i in env.instances if i.deployment != op.deployment])

    def _terminate_launched(self, env: Environment, op: Operation, when: datetime) -> None:
        """Terminate the instances `op` launched and has not kept."""
        launched = [i for i in env.instances if i.id in op.launched]
        op.launched = []
        if launched:
            self._event(TERMINATING_NEW, env=env, when=when)
            self._remove(env, launched, when)

    def _succeed(self, env: Environment, op: Operation, when: datetime) -> None:
        self._apply(env, op)
        env.version, env.deployment = op.label, op.deployment
        self._fit(env, when)
        self._event("New application version was deployed to running EC2 instances.", env=env, when=when,
                    version=op.label)
        self._settle(env, when)
        self._event("Environment update completed successfully.", env=env, when=when)
        self._report_health(env, when)

    def _configure(self, env: Environment, op: Operation) -> Steps:
        """A configuration-only update, applied in one transition; one that fails is rolled back in another."""
        when = yield
        if deployment.configuration_fails(env.tags):
            op.abortable = False  # EB does not stop a rollback
            self._event("Failed to deploy configuration.", "ERROR", env=env, when=when)
            self._event(ROLLING_BACK, "WARN", env=env, when=when)
            when = yield
            self._reverted(env, when)
            return
        self._apply(env, op)
        self._fit(env, when)
        self._event("Successfully deployed new configuration to environment.", env=env, when=when)
        self._settle(env, when)
        self._event("Environment update completed successfully.", env=env, when=when)
        self._report_health(env, when)

    def _reverted(self, env: Environment, when: datetime) -> None:
        self._event("The environment was reverted to the previous configuration setting.", "WARN", env=env,
                    when=when)
        self._fail(env, "Update", when)

    @operation
    def abort(self, env_id: str | None, name: str | None) -> None:
        env = self._environment(env_id, name)
        op = env.operation
        if env.status != "Updating" or op is None or not op.abortable:
            # What EB answered an AbortEnvironmentUpdate it could not honour (aws-elastic-beanstalk-cli-setup#144).
            raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                        "operation. Must be pending deployment.")
        self._event(ABORTING, "WARN", env=env)
        stopped = replace(op, abortable=False)  # a new operation: the steps still scheduled for `op` do nothing
        self._start(env, stopped, self._aborted(env, stopped))

    def _aborted(self, env: Environment, op: Operation) -> Steps:
        """An abort, one transition later: a configuration update is rolled back; a deployment stops where it
        stands: the batch in progress is abandoned (launched instances terminated, running ones keep their
        version), finished batches keep the new version and the expected version stays the previous one."""
        when = yield
        if op.kind == "configure":
            self._reverted(env, when)
            return
        for instance in env.instances:
            if instance.id in op.deploying:
                instance.health, instance.causes = op.deploying[instance.id]
        op.deploying = {}
        self._terminate_launched(env, op, when)
        if not op.immutable:
            self._event(ABORTED_DEPLOYMENT, "ERROR", env=env, when=when, version=op.label)
            self._give_back(env, op, when)
        self._fail(env, "Update", when)

    @operation
    def terminate(self, env_id: str | None, name: str | None) -> Environment:
        return self._terminate(self._environment(env_id, name))

    def _terminate(self, env: Environment) -> Environment:
        if env.status == "Terminating":
            raise InvalidParameterValue(f"Environment named {env.name} is already terminating.")
        env.status, env.updated, env.operation = "Terminating", self.clock.now(), None  # what ran stops
        self._event("terminateEnvironment is starting.", env=env)

        def finish(when: datetime) -> None:
            env.status, env.terminated_at, env.updated, env.instances = "Terminated", when, when, []
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

    # -- saved configurations ----------------------------------------------------------------------
    def _template(self, app_name: str, name: str) -> Template:
        """A saved configuration; EB applies a properly formatted file in its storage bucket too
        (saved_configs), which `eb config put` uploads, so the file, when there, is the template."""
        app = self._application(app_name)
        data = storage.read(self.account_id, self.region_name, saved_configs.key(app_name, name))
        if data is not None:
            try:
                parsed = saved_configs.parse(data)
            except ValueError as error:
                raise InvalidParameterValue(f"Configuration Template {name} is not valid: {error}.") from None
            known = app.templates.get(name)
            platform = platforms.find(parsed.platform or "", self.region_name) or (known.platform if known else None)
            if platform is None:
                raise InvalidParameterValue(NO_PLATFORM)
            read = (platform, parsed.tier or (known.tier if known else "WebServer"),
                    parsed.description or (known.description if known else ""), parsed.settings)
            if known is None or read != (known.platform, known.tier, known.description, known.settings):
                now = self.clock.now()
                app.templates[name] = Template(application=app_name, name=name, description=read[2],
                                               platform=platform, tier=read[1], settings=read[3],
                                               created=known.created if known else now, updated=now)
        if name not in app.templates:
            # EB's text (as users' tools match it, e.g. ansible's elasticbeanstalk_cfg)
            raise InvalidParameterValue(f"No Configuration Template named '{app_name}/{name}' found.")
        return app.templates[name]

    def _save_template(self, template: Template, tags: dict[str, str]) -> None:
        storage.put(self.account_id, self.region_name, saved_configs.key(template.application, template.name),
                    saved_configs.render(template, self.region_name, tags))

    @operation
    def create_template(self, app_name: str, name: str, description: str, platform_ref: str | None,
                        source: tuple[str, str] | None, env_id: str | None, env_name: str | None,
                        tier: str | None, settings: list[options.Setting], remove: list[tuple[str, str]],
                        tags: dict[str, str]) -> Template:
        """A configuration template from an environment's applied settings, another template, or a platform,
        overlaid by `settings` less `remove`; its file is written to the storage bucket, as EB does."""
        app = self._application(app_name)
        if not 1 <= len(name) <= 100:
            raise InvalidParameterValue(f"Value {name} at 'TemplateName' failed to satisfy constraint: Member must "
                                        "have length between 1 and 100")
        if name in app.templates:
            raise InvalidParameterValue(f"Configuration Template {name} already exists.")  # ebcli's cfg.nameexists
        base: dict[options.Key, object] = {}
        if env_id or env_name:
            env = self._environment(env_id, env_name)
            platform, base_tier, base = env.platform, env.tier, dict(env.settings)
        elif source:
            original = self._template(*source)
            platform, base_tier, base = original.platform, original.tier, dict(original.settings)
        else:
            found = platforms.find(platform_ref or "", self.region_name)
            if found is None:
                raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                            else NO_PLATFORM)
            platform, base_tier = found, "WebServer"
        template_tier = tier or base_tier
        if template_tier not in TIERS:
            raise InvalidParameterValue(f"Tier {template_tier} is not valid; use WebServer or Worker.")
        problems = options.validate(settings, template_tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        for key in remove:
            base.pop(key, None)
        base.update({(n, o): v for n, o, v in settings})
        now = self.clock.now()
        template = Template(application=app_name, name=name, description=description, platform=platform,
                            tier=template_tier, settings=base, created=now, updated=now)
        app.templates[name] = template
        self._save_template(template, tags)
        return template

    @operation
    def update_template(self, app_name: str, name: str, description: str | None, settings: list[options.Setting],
                        remove: list[tuple[str, str]]) -> Template:
        template = self._template(app_name, name)
        problems = options.validate(settings, template.tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        for key in remove:
            template.settings.pop(key, None)
        template.settings.update({(n, o): v for n, o, v in settings})
        if description is not None:
            template.description = description
        template.updated = self.clock.now()
        self._save_template(template, {})
        return template

    @operation
    def delete_template(self, app_name: str, name: str) -> None:
        self._template(app_name, name)
        del self.applications[app_name].templates[name]
        storage.delete(self.account_id, self.region_name, saved_configs.key(app_name, name))

    # -- instance logs (RequestEnvironmentInfo) ------------------------------------------------------
    @operation
    def request_info(self, env_id: str | None, name: str | None, info_type: str) -> None:
        """The instances compile their logs and upload them to the storage bucket, one transition later."""
        if info_type not in ("tail", "bundle"):
            raise InvalidParameterValue(f"Value {info_type} at 'InfoType' failed to satisfy constraint: Member "
                                        "must satisfy enum value set: [tail, bundle]")
        env = self._environment(env_id, name)
        self._event("requestEnvironmentInfo is starting.", env=env)
        compile_ = instance_logs.tail if info_type == "tail" else instance_logs.bundle
        verb = "tailing" if info_type == "tail" else "bundling"

        def upload(when: datetime) -> None:
            collected = []
            for number, instance in enumerate(env.instances):
                data, count = compile_(env.name, env.tier, number == 0)
                suffix = "out" if info_type == "tail" else "zip"
                # The emulation's key layout under EB's storage bucket.
                key = f"resources/environments/logs/{info_type}/{env.id}/{instance.id}/{when:%Y%m%dT%H%M%S%f}.{suffix}"
                storage.put(self.account_id, self.region_name, key, data)
                collected.append({"InfoType": info_type, "Ec2InstanceId": instance.id, "SampleTimestamp": when,
                                  "key": key})
                self._event(f"[Instance: {instance.id}] Successfully finished {verb} {count} log(s)", env=env,
                            when=when)
            env.info[info_type] = collected
            self._event("Pulled logs for environment instances.", env=env, when=when)  # ebcli's logs.pulled

        self._later(upload)

    @operation
    def retrieve_info(self, env_id: str | None, name: str | None, info_type: str,
                      endpoint: str) -> list[dict[str, object]]:
        """The last compiled logs of each instance, as presigned links through `endpoint`."""
        env = self._environment(env_id, name)
        return [{"InfoType": item["InfoType"], "Ec2InstanceId": item["Ec2InstanceId"],
                 "SampleTimestamp": item["SampleTimestamp"],
                 "Message": storage.presigned_url(endpoint, self.region_name, self.account_id, str(item["key"]))}
                for item in env.info.get(info_type, [])]

    # -- restoring a terminated environment ----------------------------------------------------------
    @operation
    def rebuild(self, env_id: str | None, name: str | None) -> Environment:
        """RebuildEnvironment: a running environment's resources anew, or a terminated one back (what
        `eb restore` asks), with its id, name, settings and version; its CNAME when still free."""
        terminated = [e for e in self.environments.values() if e.status == "Terminated"
                      and (e.id == env_id or (not env_id and e.name == name))]
        if not terminated:
            env = self._environment(env_id, name)
            if env.status != "Ready":
                raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                            "operation. Must be Ready.")
            return self._relaunch(env, "rebuildEnvironment")
        env = max(terminated, key=lambda e: e.updated)
        if any(e.name == env.name for e in self._live()):
            raise InvalidParameterValue(f"Environment {env.name} already exists.")
        if env.tier == "WebServer" and not self._cname_available(env.cname.split(".")[0]):
            raise InvalidParameterValue(f"DNS name ({env.cname}) is not available.")
        env.terminated_at, env.reported_health = None, "Pending"
        return self._relaunch(env, "restoreEnvironment")

    def _relaunch(self, env: Environment, activity: str) -> Environment:
        """New instances for `env`, launched and given its version as a creation does."""
        now = self.clock.now()
        env.status, env.updated, env.instances = "Launching", now, []
        self._event(f"{activity} is starting.", env=env)  # EB's words for restore ('eb restore' transcripts)
        for _ in range(policies.min_size(self._options(env))):
            self._new_instance(env, now)
        launch = Operation(kind="launch", request_id=current_request_id(), started=now, label=env.version,
                           abortable=False)
        self._start(env, launch, self._launch(env, launch))
        return env

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
        """The environment's tags change, and EB propagates them to its resources: the event that says it is
        done (ebcli's tags.tag_update_successful, which `eb tags` waits for) comes one transition later."""
        env = self._tagged(arn)
        env.tags.update(add)
        for key in remove:
            env.tags.pop(key, None)
        self._later(lambda when: self._event("Environment tag update completed successfully.", env=env, when=when))

    @operation
    def list_tags(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)


eb_local_backends = BackendDict(LocalEBBackend, "elasticbeanstalk")
