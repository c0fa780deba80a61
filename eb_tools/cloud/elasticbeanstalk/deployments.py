"""Updates of a running environment: UpdateEnvironment (a version deployed in place or to new instances, or
settings alone), AbortEnvironmentUpdate, and the rollback of a configuration update that fails."""
from __future__ import annotations

import random
import string
from dataclasses import replace
from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import deploy_outcome, options, policies
from eb_tools.cloud.elasticbeanstalk import health as enhanced
from eb_tools.cloud.elasticbeanstalk.backend_core import TRANSITION, Steps, operation
from eb_tools.cloud.elasticbeanstalk.entities import Environment, Instance, Operation
from eb_tools.cloud.elasticbeanstalk.exceptions import ConfigurationValidation, InvalidParameterValue
from eb_tools.cloud.elasticbeanstalk.hosted import POLL
from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id
from eb_tools.cloud.elasticbeanstalk.saved_configs import SavedConfigurations
from eb_tools.cloud.elasticbeanstalk.scheduled_scaling import ScheduledScaling
from eb_tools.cloud.instances.jobs import Failure

# Options only EB itself reads (how it deploys and updates): changing them alone leaves the instances serving as
# they are ("Many configuration changes can be applied to a running environment without replacing existing
# instances", EB guide, "Configuration changes").
SERVICE_SIDE = ("aws:elasticbeanstalk:command", "aws:elasticbeanstalk:trafficsplitting",
                "aws:autoscaling:updatepolicy:rollingupdate")


def _reaches_instances(op: Operation) -> bool:
    """Whether a configuration update changes what the instances run (properties, sqsd, proxy...)."""
    return any(namespace not in SERVICE_SIDE for namespace, *_ in (*op.settings, *op.remove))


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


class Deployments(SavedConfigurations, ScheduledScaling):
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
        refusal = self._schedule_refusal(env, settings)  # Auto Scaling's, of the scheduled actions set
        problems = options.validate(settings, env.tier) + ([refusal] if refusal else [])
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
        self._settings_applied(env, op.settings)
        if env.queue_url and env.settings.get(("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")):
            env.queue_url = str(env.settings[("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")])
        if op.description is not None:
            env.description = op.description

    # -- a version deployed ------------------------------------------------------------------------------
    def _deploy_in_place(self, env: Environment, op: Operation, policy: policies.DeploymentPolicy) -> Steps:
        """AllAtOnce, Rolling, RollingWithAdditionalBatch: batch after batch, a transition each; the first
        batch that fails its health checks stops the deployment where it stands (no rollback)."""
        label = str(op.label)
        self._event("Deploying new version to instance(s).", env=env, version=label)
        when = yield TRANSITION
        if self._refused(env, label, when):
            return
        fails = self._fails(env, label)
        batches = policy.batches(env.instances)
        if policy.name == "RollingWithAdditionalBatch" and batches:  # none at no instance (scheduled to sleep)
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
            self._host(env, batch, label)
            when = yield TRANSITION
            while self._hosting_busy(batch):  # real instances: until each has ended, a transition at a time
                when = yield POLL
            op.deploying, op.launched = {}, []  # from here on an abort keeps what this batch did
            failed = self._hosted_failures(batch)
            for instance in batch:
                instance.take(label, op.deployment, when, passed=not fails and instance.id not in failed)
            if fails or failed:
                self._batch_failed(env, batch, failed, label, when)
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
        when = yield TRANSITION
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
            self._host(env, batch, label)
            when = yield TRANSITION
            while self._hosting_busy(batch):
                when = yield POLL
            op.deploying = {}
            failed = self._hosted_failures(batch)
            for instance in batch:
                instance.take(label, op.deployment, when, passed=not fails and instance.id not in failed)
            if fails or failed:
                self._batch_failed(env, batch, failed, label, when)
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

    def _batch_failed(self, env: Environment, batch: list[Instance], failed: dict[str, Failure], label: str,
                      when: datetime) -> None:
        """EB's events for a batch that failed: its instances' command failures, or its health checks (every
        instance of the batch when the failure is injected)."""
        checks = self._command_failures(env, batch, failed, label, when) if failed else batch
        if checks:
            self._failed_checks(env, checks, label, when)

    def _give_back(self, env: Environment, op: Operation, when: datetime) -> None:
        """A deployment in place that stops early returns to the environment's size all the same (the
        additional batch's capacity): the instances it did not reach are the surplus, the failed batch stays
        (the emulation's choice: EB restores its Auto Scaling group's size and the group picks), an instance
        whose app has died before any other."""
        not_reached = [i for i in reversed(env.instances) if i.deployment != op.deployment]
        # An instance failing its health checks goes first, as an Auto Scaling group with ELB health checks
        # replaces it (real instances only; records are all healthy here).
        self._fit(env, when, spare=sorted(not_reached, key=self._serving))

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

    # -- settings alone ------------------------------------------------------------------------------------
    def _configure(self, env: Environment, op: Operation) -> Steps:
        """A configuration-only update, applied in one transition; one that fails is rolled back in another."""
        when = yield TRANSITION
        after = {k: v for k, v in self._merged(env).items() if k not in op.remove} | {
            (n, o): None if v is None else str(v) for n, o, v in op.settings}
        if self._listener_failed(env, after, False, when) or deploy_outcome.configuration_fails(env.tags):
            op.abortable = False  # EB does not stop a rollback
            self._event("Failed to deploy configuration.", "ERROR", env=env, when=when)
            self._event(ROLLING_BACK, "WARN", env=env, when=when)
            when = yield TRANSITION
            self._reverted(env, when)
            return
        self._apply(env, op)
        self._fit(env, when)
        if _reaches_instances(op):
            self._host(env, env.instances, env.version)  # the app restarts with the new properties, as on EB
        while self._hosting_busy(env.instances):
            when = yield POLL
        self._event("Successfully deployed new configuration to environment.", env=env, when=when)
        self._settle(env, when)
        self._event("Environment update completed successfully.", env=env, when=when)
        self._report_health(env, when)

    def _reverted(self, env: Environment, when: datetime) -> None:
        self._event("The environment was reverted to the previous configuration setting.", "WARN", env=env,
                    when=when)
        self._fail(env, "Update", when)

    # -- aborting ------------------------------------------------------------------------------------------
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
        when = yield TRANSITION
        if op.kind == "configure":
            self._reverted(env, when)
            return
        self._abort_hosted(list(op.deploying))
        for instance in env.instances:
            if instance.id in op.deploying:
                instance.health, instance.causes = op.deploying[instance.id]
        op.deploying = {}
        self._terminate_launched(env, op, when)
        if not op.immutable:
            self._event(ABORTED_DEPLOYMENT, "ERROR", env=env, when=when, version=op.label)
            self._give_back(env, op, when)
        self._fail(env, "Update", when)
