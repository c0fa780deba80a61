"""The emulated EB's instances as real processes, when the serving cloud hosts them (instances/hosting.py).

The steps of a launch, a deployment, a configuration update, an abort or a termination call these moves; each
does nothing in a cloud without hosting, where instances stay records and deployments end by the simulated
clock alone. With hosting, a batch's step starts the deployment on its instances and the next steps wait until
each has ended (a transition at a time), and the outcome is the instances' own: a bundle whose app cannot
import, misses a dependency, fails a hook, a command or its migration, or never answers its health check
fails the deployment with EB's events for it.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from eb_tools.cloud import certificates
from eb_tools.cloud.elasticbeanstalk import emulation_settings, options, services
from eb_tools.cloud.elasticbeanstalk.entities import Environment, Instance
from eb_tools.cloud.elasticbeanstalk.health_reports import EnvironmentHealth

if TYPE_CHECKING:
    from eb_tools.cloud.instances.hosting import Hosting
    from eb_tools.cloud.instances.jobs import Failure

POLL = 0.1  # of a transition: how often a step waiting on real instances looks again (`when = yield POLL`)
PROPERTIES = "aws:elasticbeanstalk:application:environment"
SECRETS = "aws:elasticbeanstalk:application:environmentsecrets"
# EB's environment-level words after a command failed on some instances (users' event logs, e.g.
# onnela-lab/beiwe-backend#381).
SUMMARY = "Command execution completed on all instances. Summary: [Successful: {ok}, Failed: {failed}]."
UNSUCCESSFUL = "Unsuccessful command execution on instance id(s) '{ids}'. Aborting the operation."
LISTENER = "aws:elbv2:listener:443"
# A web environment's HTTPS listener whose certificate ACM does not have: EB's stack fails on the listener
# (users' event logs, e.g. cloudposse/terraform-aws-elastic-beanstalk-environment#81; ELBv2's error code for an
# unknown certificate is CertificateNotFound, hashicorp/terraform-provider-aws#17505).
LISTENER_FAILED = ("Creating Load Balancer listener failed Reason: Certificate '{arn}' not found (Service: "
                   "AmazonElasticLoadBalancingV2; Status Code: 400; Error Code: CertificateNotFound; Request ID: "
                   "{request})")
STACK_ABORTED = ("Stack named 'awseb-{env_id}-stack' aborted operation. Current state: '{state}'  Reason: The "
                 "following resource(s) failed to {verb}: [AWSEBV2LoadBalancerListener443].")


class HostedInstances(EnvironmentHealth):
    @property
    def _hosting(self) -> Hosting | None:
        return emulation_settings.current().hosting

    def _host(self, env: Environment, instances: list[Instance], label: str | None) -> None:
        """Start deploying `label` to `instances` (watched from now on; a web environment's load balancer routes
        to them)."""
        hosting = self._hosting
        if hosting is None or not instances or not label:
            return
        version = self._version(env.application, label)
        bundle = services.read_object(self.account_id, version.bucket, version.key) or b""
        hosting.deploy(env.name, env.tier, [i.id for i in instances], label, bundle, self._variables(env),
                       env.application)
        arn = _https_certificate_arn(self._merged(env)) if env.tier == "WebServer" else None
        certificate = certificates.served(self.account_id, self.region_name, arn) if arn else None
        hosting.watch(env.name, lambda: [i.id for i in env.instances], balanced=env.tier == "WebServer",
                      certificate=certificate)

    def _listener_failed(self, env: Environment, merged: dict[options.Key, str | None], creating: bool,
                         when: datetime) -> bool:
        """EB's events when the environment's HTTPS listener names a certificate ACM does not have (in this
        region, issued), which fails its stack as in AWS; whether it does."""
        arn = _https_certificate_arn(merged) if env.tier == "WebServer" else None
        if arn is None or certificates.served(self.account_id, self.region_name, arn) is not None:
            return False
        self._event(LISTENER_FAILED.format(arn=arn, request=uuid.uuid4()), "ERROR", env=env, when=when)
        state, verb = ("CREATE_FAILED", "create") if creating else ("UPDATE_ROLLBACK_IN_PROGRESS", "update")
        self._event(STACK_ABORTED.format(env_id=env.id, state=state, verb=verb), "ERROR", env=env, when=when)
        return True

    def _variables(self, env: Environment) -> dict[str, str]:
        """What the environment gives its processes: its properties, and its secrets' values."""
        merged = self._merged(env)
        properties = {option: str(value) for (namespace, option), value in merged.items()
                      if namespace == PROPERTIES and value is not None}
        secrets = {option: services.secret_string(self.account_id, self.region_name, str(value))
                   for (namespace, option), value in merged.items() if namespace == SECRETS and value}
        return {**properties, **secrets}

    def _hosting_busy(self, instances: list[Instance]) -> bool:
        """Whether a deployment still runs on any of `instances` (never, without hosting)."""
        hosting = self._hosting
        return hosting is not None and hosting.pending([i.id for i in instances])

    def _hosted_failures(self, instances: list[Instance]) -> dict[str, Failure]:
        hosting = self._hosting
        return hosting.failures([i.id for i in instances]) if hosting is not None else {}

    def _unhost(self, instances: list[Instance]) -> None:
        if self._hosting is not None:
            self._hosting.stop([i.id for i in instances])

    def _abort_hosted(self, instance_ids: list[str]) -> None:
        if self._hosting is not None:
            self._hosting.abort(instance_ids)

    def _forget_balancer(self, env: Environment) -> None:
        if self._hosting is not None:
            self._hosting.forget(env.name)

    def _command_failures(self, env: Environment, batch: list[Instance], failures: dict[str, Failure],
                          label: str, when: datetime) -> list[Instance]:
        """EB's events for instances whose deployment command failed; the instances that instead took the
        version and failed their health check (for the caller's health-check events)."""
        commands = {i: f for i, f in failures.items() if not f.health_check}
        for failure in commands.values():
            for severity, message in failure.events:
                self._event(message, severity, env=env, when=when, version=label)
        if commands:
            self._event(SUMMARY.format(ok=len(batch) - len(commands), failed=len(commands)), env=env, when=when)
            self._event(UNSUCCESSFUL.format(ids=",".join(commands)), "ERROR", env=env, when=when, version=label)
            self._event("Failed to deploy application.", "ERROR", env=env, when=when, version=label)
        return [i for i in batch if i.id in failures and i.id not in commands]

    def _serving(self, instance: Instance) -> bool:
        """Whether the instance answers its health check (always, for an instance that is a record only)."""
        health = self._hosting.health(instance.id) if self._hosting is not None else None
        return health is None or health.ok

    def _refresh_hosted_health(self, env: Environment) -> None:
        """Each deployed instance's health from its processes and health check, as EB's health agent reports."""
        hosting = self._hosting
        if hosting is None:
            return
        for instance in env.instances:
            health = hosting.health(instance.id)
            if health is None or health.state == "deploying" or instance.health in ("Pending", "Info"):
                continue
            if instance.deployment_status == "Deployed":
                instance.health, instance.causes = ("Ok", []) if health.ok else ("Severe", [health.detail])


def _https_certificate_arn(merged: dict[options.Key, str | None]) -> str | None:
    """The certificate of the environment's HTTPS listener on 443 (the first of SSLCertificateArns), if any."""
    enabled = str(merged.get((LISTENER, "ListenerEnabled"))).lower() != "false"
    if merged.get((LISTENER, "Protocol")) != "HTTPS" or not enabled:
        return None
    return str(merged.get((LISTENER, "SSLCertificateArns")) or "").split(",")[0].strip() or None
