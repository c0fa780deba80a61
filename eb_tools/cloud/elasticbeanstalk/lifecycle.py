"""Applications and environments from creation to termination: create, describe, terminate, rebuild or
restore, and swap CNAMEs; an environment's launch is the first operation it runs (steps.py)."""
from __future__ import annotations

import random
import string
from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import emulation_settings, options, platforms, policies, services
from eb_tools.cloud.elasticbeanstalk.backend_core import TRANSITION, Steps, operation
from eb_tools.cloud.elasticbeanstalk.entities import TIERS, Application, Environment, Instance, Operation
from eb_tools.cloud.elasticbeanstalk.exceptions import ConfigurationValidation, InvalidParameterValue
from eb_tools.cloud.elasticbeanstalk.health import NOT_DEPLOYED
from eb_tools.cloud.elasticbeanstalk.hosted import POLL
from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id
from eb_tools.cloud.elasticbeanstalk.saved_configs import SavedConfigurations
from eb_tools.cloud.elasticbeanstalk.scheduled_scaling import ScheduledScaling

INSTANCE_PROFILE = ("aws:autoscaling:launchconfiguration", "IamInstanceProfile")


class EnvironmentLifecycle(SavedConfigurations, ScheduledScaling):
    # -- applications ------------------------------------------------------------------------------
    @operation
    def create_application(self, name: str, description: str) -> Application:
        return self._create_application(name, description)

    @operation
    def describe_applications(self, names: list[str]) -> list[Application]:
        return [a for a in self.applications.values() if not names or a.name in names]

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

    # -- environments: finding them ----------------------------------------------------------------
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
    def environment_resources(self, env_id: str | None, name: str | None) -> dict[str, object]:
        env = self._environment(env_id, name)
        if env.tier != "WebServer":  # no load balancer: nothing to merge (log streaming asks every few seconds)
            return env.resources("")
        kind = self._merged(env).get(("aws:elasticbeanstalk:environment", "LoadBalancerType")) or "classic"
        return env.resources(kind)

    @operation
    def launched_instances(self) -> list[tuple[Environment, Instance, str | None]]:
        """Each instance of a live environment, with the instance profile the environment launches its
        instances with (IamInstanceProfile, a name or an ARN): what Systems Manager knows of EB's instances."""
        return [(env, instance, self._merged(env).get(INSTANCE_PROFILE)) for env in self._live()
                for instance in env.instances]

    # -- creating one --------------------------------------------------------------------------------
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
        platform = self._check_new_environment(app_name, name, tier, platform_ref, version, settings)
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
        self.served_by[env_id] = emulation_settings.current()  # the cloud whose ticker applies its schedule
        self._settings_applied(env, settings)
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

    def _check_new_environment(self, app_name: str, name: str, tier: str, platform_ref: str | None,
                               version: str | None, settings: list[options.Setting]) -> platforms.Platform:
        """EB's refusals of a new environment; the platform it runs."""
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
        refusal = self._schedule_refusal(None, settings)  # Auto Scaling's, of the scheduled actions set
        problems = options.validate(settings, tier) + ([refusal] if refusal else [])
        if problems:
            raise ConfigurationValidation("Configuration validation exception: " + problems[0])
        return platform

    def _launch(self, env: Environment, op: Operation) -> Steps:
        """The instances boot, then take the version (if any) all at once."""
        when = yield TRANSITION
        label = op.label
        if self._listener_failed(env, self._merged(env), True, when):
            for instance in env.instances:
                instance.health, instance.causes = "Severe", [NOT_DEPLOYED]
            env.version = None
            self._fail(env, "Create", when)
            return
        if label and (problem := self._deploy_problem(env, label)):
            for instance in env.instances:
                instance.health, instance.causes = "Severe", [NOT_DEPLOYED]
            env.version = None
            self._event(problem, "ERROR", env=env, when=when, version=label)
            self._fail(env, "Create", when)
            return
        if label:
            env.deployments += 1
            op.deployment = env.deployments
            self._host(env, env.instances, label)
            while self._hosting_busy(env.instances):  # real instances: until each has ended
                when = yield POLL
            failed = self._hosted_failures(env.instances)
            passed = not self._fails(env, label) and not failed
            for instance in env.instances:
                instance.take(label, op.deployment, when, passed and instance.id not in failed)
            if not passed:
                env.version = None  # nothing deployed successfully: EB expects no version ("n/a")
                checks = self._command_failures(env, env.instances, failed, label, when) if failed else env.instances
                if checks:
                    self._failed_checks(env, checks, label, when)
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

    # -- terminating, restoring, swapping ----------------------------------------------------------------
    @operation
    def terminate(self, env_id: str | None, name: str | None) -> Environment:
        return self._terminate(self._environment(env_id, name))

    def _terminate(self, env: Environment) -> Environment:
        if env.status == "Terminating":
            raise InvalidParameterValue(f"Environment named {env.name} is already terminating.")
        env.status, env.updated, env.operation = "Terminating", self.clock.now(), None  # what ran stops
        self._event("terminateEnvironment is starting.", env=env)

        def finish(when: datetime) -> None:
            self._unhost(env.instances)
            self._forget_balancer(env)
            env.status, env.terminated_at, env.updated, env.instances = "Terminated", when, when, []
            self._event("terminateEnvironment completed successfully.", env=env, when=when)

        self._later(finish)
        return env

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
        env.status, env.updated, env.instances, env.capacity = "Launching", now, [], None  # a new group: options rule
        self._event(f"{activity} is starting.", env=env)  # EB's words for restore ('eb restore' transcripts)
        for _ in range(policies.min_size(self._options(env))):
            self._new_instance(env, now)
        launch = Operation(kind="launch", request_id=current_request_id(), started=now, label=env.version,
                           abortable=False)
        self._start(env, launch, self._launch(env, launch))
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
