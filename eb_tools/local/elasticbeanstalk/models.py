"""State and behaviour of the emulated Elastic Beanstalk (moto's models.py split).

Environments change state on a simulated clock: an operation schedules its
completion `transition_seconds` later, and every API call first applies what
is due, emitting the events EB emits (the texts the eb CLI waits for). No
threads: the state is a function of the calls and the clock.
"""
from __future__ import annotations

import json
import random
import threading
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException

from eb_tools.local.elasticbeanstalk import options, platforms

REQUEST = threading.local()  # the request id of the API call being served (set by register's dispatcher)
FAIL_MARKER = "[local:fail]"  # a version whose description has it fails to deploy (failure injection)
SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceException):
    code = "InvalidParameterCombination"


class MissingParameter(ServiceException):
    code = "MissingParameter"


class ConfigurationValidation(ServiceException):
    code = "ConfigurationValidationException"


class InvalidRequest(ServiceException):
    code = "InvalidRequestException"


def now() -> datetime:
    return datetime.now(timezone.utc)


def current_request_id() -> str:
    return getattr(REQUEST, "id", None) or str(uuid.uuid4())


@dataclass
class Version:
    application: str
    label: str
    description: str
    bucket: str
    key: str
    arn: str
    created: datetime = field(default_factory=now)
    status: str = "UNPROCESSED"  # what EB answers for Process=false (PROCESSED when processed)

    def describe(self) -> dict[str, object]:
        return {"ApplicationVersionArn": self.arn, "ApplicationName": self.application, "Description": self.description,
                "VersionLabel": self.label, "SourceBundle": {"S3Bucket": self.bucket, "S3Key": self.key},
                "DateCreated": self.created, "DateUpdated": self.created, "Status": self.status}


@dataclass
class Application:
    name: str
    description: str
    arn: str
    created: datetime = field(default_factory=now)
    versions: dict[str, Version] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        labels = [v.label for v in sorted(self.versions.values(), key=lambda v: v.created, reverse=True)]
        return {"ApplicationName": self.name, "Description": self.description, "DateCreated": self.created,
                "DateUpdated": self.created, "Versions": labels, "ConfigurationTemplates": [],
                "ApplicationArn": self.arn}


@dataclass
class Environment:
    id: str
    name: str
    application: str
    tier: str  # "WebServer" or "Worker"
    platform: platforms.Platform
    region: str
    account: str
    cname: str
    version: str | None
    description: str
    settings: dict[tuple[str, str], object]
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    status: str = "Launching"
    health: str = "Grey"
    health_status: str = "Pending"
    queue_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    terminated_at: datetime | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:elasticbeanstalk:{self.region}:{self.account}:environment/{self.application}/{self.name}"

    def describe(self) -> dict[str, object]:
        tier = ({"Name": "WebServer", "Type": "Standard", "Version": "1.0"} if self.tier == "WebServer"
                else {"Name": "Worker", "Type": "SQS/HTTP", "Version": "1.0"})
        result: dict[str, object] = {
            "EnvironmentName": self.name, "EnvironmentId": self.id, "ApplicationName": self.application,
            "SolutionStackName": self.platform.solution_stack, "PlatformArn": self.platform.arn.format(region=self.region),
            "Description": self.description, "DateCreated": self.created, "DateUpdated": self.updated,
            "Status": self.status, "AbortableOperationInProgress": self.status == "Updating",
            "Health": self.health, "HealthStatus": self.health_status, "Tier": tier, "EnvironmentLinks": [],
            "EnvironmentArn": self.arn, "EndpointURL": self.endpoint,
        }
        if self.version:
            result["VersionLabel"] = self.version
        if self.tier == "WebServer":
            result["CNAME"] = self.cname
        return result

    @property
    def endpoint(self) -> str:
        if self.tier != "WebServer":
            return ""
        return f"awseb-{self.id}-{self.id[2:8]}.{self.region}.elb.amazonaws.com"


@dataclass
class Event:
    date: datetime
    message: str
    severity: str
    application: str | None = None
    environment: str | None = None
    version: str | None = None
    request_id: str = field(default_factory=current_request_id)

    def describe(self) -> dict[str, object]:
        result: dict[str, object] = {"EventDate": self.date, "Message": self.message, "Severity": self.severity,
                                     "RequestId": self.request_id}
        if self.application:
            result["ApplicationName"] = self.application
        if self.environment:
            result["EnvironmentName"] = self.environment
        if self.version:
            result["VersionLabel"] = self.version
        return result


class LocalEBBackend(BaseBackend):
    transition_seconds: float = 2.0  # how long a simulated launch, update or termination takes

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.applications: dict[str, Application] = {}
        self.environments: dict[str, Environment] = {}
        self.events: list[Event] = []
        self._due: list[tuple[datetime, Callable[[datetime], None]]] = []

    # -- the other emulated services EB uses: S3 for bundles, SQS for worker queues --------------
    def _s3(self):
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def read_bundle(self, bucket: str, key: str) -> bytes | None:
        try:
            found = self._s3().get_object(bucket, key)
        except Exception:  # moto raises MissingBucket and friends: to EB it is just "not found"
            return None
        return bytes(found.value) if found is not None else None

    def _make_queue(self, name: str) -> str:
        from moto.sqs.models import sqs_backends

        sqs = sqs_backends[self.account_id][self.region_name]
        dlq = sqs.create_queue(f"{name}-DeadLetterQueue", MessageRetentionPeriod="1209600")
        redrive = {"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": "10"}
        sqs.create_queue(name, VisibilityTimeout="300", RedrivePolicy=json.dumps(redrive))
        return f"https://sqs.{self.region_name}.amazonaws.com/{self.account_id}/{name}"

    # -- the clock -------------------------------------------------------------------------------
    def advance(self) -> None:
        """Apply every scheduled transition that is due, in order."""
        current = now()
        while self._due:
            self._due.sort(key=lambda item: item[0])
            when, action = self._due[0]
            if when > current:
                return
            self._due.pop(0)
            action(when)

    def _later(self, action: Callable[[datetime], None], steps: float = 1.0) -> None:
        """Run `action` when due, on behalf of the request that scheduled it (its events carry its id)."""
        request_id = current_request_id()

        def on_behalf(when: datetime) -> None:
            previous, REQUEST.id = getattr(REQUEST, "id", None), request_id
            try:
                action(when)
            finally:
                REQUEST.id = previous

        self._due.append((now() + timedelta(seconds=self.transition_seconds * steps), on_behalf))

    def _event(self, message: str, severity: str = "INFO", env: Environment | None = None, app: str | None = None,
               version: str | None = None, when: datetime | None = None) -> None:
        # Strictly increasing dates: the eb CLI reads on from (last event + 1 ms).
        date = when or now()
        if self.events and date <= self.events[-1].date:
            date = self.events[-1].date + timedelta(milliseconds=1)
        self.events.append(Event(date, message, severity, app or (env.application if env else None),
                                 env.name if env else None, version))

    # -- applications and versions ---------------------------------------------------------------
    def storage_location(self) -> str:
        bucket = f"elasticbeanstalk-{self.region_name}-{self.account_id}"
        s3 = self._s3()
        if bucket not in s3.buckets:
            s3.create_bucket(bucket, self.region_name)
        return bucket

    def create_application(self, name: str, description: str) -> Application:
        if name in self.applications:
            raise InvalidParameterValue(f"Application {name} already exists.")
        arn = f"arn:aws:elasticbeanstalk:{self.region_name}:{self.account_id}:application/{name}"
        self.applications[name] = Application(name, description, arn)
        return self.applications[name]

    def application(self, name: str) -> Application:
        if name not in self.applications:
            raise InvalidParameterValue(f"No Application named '{name}' found.")
        return self.applications[name]

    def delete_application(self, name: str, force: bool) -> None:
        self.application(name)
        running = [e for e in self.live_environments() if e.application == name]
        if running and not force:
            raise InvalidParameterValue(f"Unable to delete application {name} because it has running "
                                        f"environments: {', '.join(e.name for e in running)}")
        for env in running:
            self.terminate(env)
        del self.applications[name]

    def create_version(self, app_name: str, label: str, description: str, bucket: str, key: str,
                       auto_create: bool) -> Version:
        if app_name not in self.applications and auto_create:
            self.create_application(app_name, "")
        app = self.application(app_name)
        if label in app.versions:
            raise InvalidParameterValue(f"Application Version {label} already exists.")
        if not bucket or not key:
            raise MissingParameter("SourceBundle with S3Bucket and S3Key is required.")
        if self.read_bundle(bucket, key) is None:
            raise InvalidParameterCombination(
                f"Unable to download from S3 location (Bucket: {bucket}  Key: {key}). Reason: Not Found")
        arn = f"arn:aws:elasticbeanstalk:{self.region_name}:{self.account_id}:applicationversion/{app_name}/{label}"
        app.versions[label] = Version(app_name, label, description, bucket, key, arn)
        return app.versions[label]

    def version(self, app_name: str, label: str) -> Version:
        app = self.application(app_name)
        if label not in app.versions:
            raise InvalidParameterValue(f"No Application Version named '{label}' found.")
        return app.versions[label]

    def delete_version(self, app_name: str, label: str) -> None:
        self.version(app_name, label)
        users = [e.name for e in self.live_environments() if e.application == app_name and e.version == label]
        if users:
            raise InvalidParameterValue(f"Unable to delete application version '{label}' because it is being "
                                        f"used by environment(s): {', '.join(users)}")
        del self.applications[app_name].versions[label]

    # -- environments ------------------------------------------------------------------------------
    def live_environments(self) -> list[Environment]:
        return [e for e in self.environments.values() if e.status != "Terminated"]

    def environment(self, env_id: str | None = None, name: str | None = None) -> Environment:
        if not env_id and not name:
            raise MissingParameter("Either EnvironmentId or EnvironmentName must be specified.")
        for env in self.live_environments():
            if env.id == env_id or (name and env.name == name):
                return env
        raise InvalidParameterValue(f"No Environment found for EnvironmentId = '{env_id}'." if env_id
                                    else f"No Environment found for EnvironmentName = '{name}'.")

    def cname_available(self, prefix: str) -> bool:
        return all(not e.cname.startswith(f"{prefix}.") for e in self.live_environments())

    def create_environment(self, app_name: str, name: str, tier: str, platform_ref: str | None,
                           cname_prefix: str | None, version: str | None, description: str,
                           settings: list[tuple[str, str, object]], tags: dict[str, str]) -> Environment:
        self.application(app_name)
        if not 4 <= len(name) <= 40 or not all(c.isalnum() or c == "-" for c in name) or name[0] == "-":
            raise InvalidParameterValue(f"Value {name} at 'EnvironmentName' failed to satisfy constraint: "
                                        "Member must have length between 4 and 40 and contain only letters, "
                                        "digits and hyphens")
        if any(e.name == name for e in self.live_environments()):
            raise InvalidParameterValue(f"Environment {name} already exists.")
        platform = platforms.find(platform_ref or "", self.region_name)
        if platform is None:
            raise InvalidParameterValue(f"No Platform named '{platform_ref}' found." if platform_ref
                                        else "No platform or solution stack was specified.")
        if version:
            self.version(app_name, version)
        problems = options.validate(settings, tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        prefix = cname_prefix or name
        if tier == "WebServer" and not self.cname_available(prefix):
            raise InvalidParameterValue(f"DNS name ({prefix}.{self.region_name}.elasticbeanstalk.com) "
                                        "is not available.")
        env_id = "e-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
        cname = f"{prefix}.{self.region_name}.elasticbeanstalk.com" if tier == "WebServer" else ""
        env = Environment(env_id, name, app_name, tier, platform, self.region_name, self.account_id, cname,
                          version, description, {(n, o): v for n, o, v in settings}, tags=tags)
        self.environments[env_id] = env
        self._event(f"createEnvironment is starting.", env=env)
        if tier == "Worker":
            env.queue_url = str(env.settings.get(("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")) or "") or \
                self._make_queue(f"awseb-{env_id}-stack-AWSEBWorkerQueue")
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
        """Why deploying `label` to `env` fails, as EB reports it; None when it deploys."""
        version = self.version(env.application, label)
        if FAIL_MARKER in version.description:
            return "Failed to deploy application."
        bundle = self.read_bundle(version.bucket, version.key)
        if bundle is None:
            return f"Unable to download the source bundle s3://{version.bucket}/{version.key}."
        bundle_settings, errors = options.from_bundle(bundle)
        problems = errors + options.validate(bundle_settings, env.tier)
        return f"Service:AmazonCloudFormation, Message:{problems[0]}" if problems else None

    def update_environment(self, env: Environment, version: str | None, settings: list[tuple[str, str, object]],
                           remove: list[tuple[str, str]], description: str | None) -> Environment:
        if env.status != "Ready":
            raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                        f"operation. Must be Ready.")
        if version:
            self.version(env.application, version)
        problems = options.validate(settings, env.tier)
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        env.status, env.updated = "Updating", now()
        if description is not None:
            env.description = description
        self._event("Environment update is starting.", env=env)
        if version:
            self._event(f"Deploying new version to instance(s).", env=env, version=version)
        self._later(lambda when: self._finish_update(env, version, settings, remove, when))
        return env

    def _finish_update(self, env: Environment, version: str | None, settings, remove, when: datetime) -> None:
        if env.status != "Updating":
            return  # aborted meanwhile
        failure = self._deploy_problem(env, version) if version else None
        env.updated = when
        if failure:
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

    def _recovered(self, env: Environment, when: datetime) -> None:
        """The instances run the previous version again: health comes back."""
        if env.status == "Ready" and env.health == "Red":
            env.health, env.health_status, env.updated = "Green", "Ok", when
            self._event("Environment health has transitioned from Severe to Ok.", env=env, when=when)

    def abort(self, env: Environment) -> None:
        if env.status != "Updating":
            raise InvalidParameterValue(f"Environment named {env.name} has no abortable operation in progress.")
        env.status, env.updated = "Ready", now()
        self._event("Environment update was aborted; the environment keeps its previous version.", "WARN", env=env)

    def terminate(self, env: Environment) -> Environment:
        if env.status == "Terminating":
            raise InvalidParameterValue(f"Environment named {env.name} is already terminating.")
        env.status, env.updated = "Terminating", now()
        self._event("terminateEnvironment is starting.", env=env)

        def finish(when: datetime) -> None:
            env.status, env.health, env.health_status, env.terminated_at, env.updated = (
                "Terminated", "Grey", "Unknown", when, when)
            self._event("terminateEnvironment completed successfully.", env=env, when=when)

        self._later(finish)
        return env

    def swap_cnames(self, source: Environment, destination: Environment) -> None:
        for env in (source, destination):
            if env.tier != "WebServer":
                raise InvalidParameterValue(f"Environment {env.name} is a worker environment; only web server "
                                            "environments have a CNAME to swap.")
            if env.status != "Ready":
                raise InvalidParameterValue(f"Environment named {env.name} is in an invalid state for this "
                                            "operation. Must be Ready.")
        source.cname, destination.cname = destination.cname, source.cname
        for env in (source, destination):
            env.updated = now()
            self._event(f"Completed swapping CNAMEs for environments '{source.name}' and '{destination.name}'.",
                        env=env)

    def describe_events(self, app: str | None, env_name: str | None, env_id: str | None, version: str | None,
                        start: datetime | None, end: datetime | None, severity: str | None,
                        request_id: str | None) -> list[Event]:
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
        return sorted(found, key=lambda e: e.date, reverse=True)


eb_local_backends = BackendDict(LocalEBBackend, "elasticbeanstalk")
