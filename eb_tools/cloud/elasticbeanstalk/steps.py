"""How the backend's long operations run, and what they do to instances.

An operation (a launch, a deployment, a configuration update, an abort) is a generator of steps: it runs at
once up to its first yield, then a step every transition on the simulated clock, as long as it is the
environment's operation. The helpers here are the moves the steps share: instances launched, removed or
fitted back to the environment's size, a bundle refused, a batch failing its health checks, an operation
ending well or with errors.
"""
from __future__ import annotations

import random
from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import deploy_outcome, policies, services
from eb_tools.cloud.elasticbeanstalk import health as enhanced
from eb_tools.cloud.elasticbeanstalk.backend_core import Steps
from eb_tools.cloud.elasticbeanstalk.entities import Environment, Instance, Operation
from eb_tools.cloud.elasticbeanstalk.hosted import HostedInstances
from eb_tools.cloud.elasticbeanstalk.request_context import serving


class OperationSteps(HostedInstances):
    # -- instances -----------------------------------------------------------------------------------
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
        self._unhost(instances)
        gone = {i.id for i in instances}
        env.instances = [i for i in env.instances if i.id not in gone]
        if instances:
            self._event(f"Removed {self._named(instances)} from your environment.", env=env, when=when)

    def _size(self, env: Environment) -> int:
        """How many instances the environment keeps: the desired capacity a scheduled action set, else the
        effective MinSize (the emulation scales by no load)."""
        return env.capacity.desired if env.capacity is not None else policies.min_size(self._options(env))

    def _fit(self, env: Environment, when: datetime, spare: list[Instance] | None = None) -> None:
        """Back to the environment's size (_size): surplus instances terminated (`spare` ones first, in their
        order, then the latest launched), missing ones launched on the expected version."""
        target = self._size(env)
        spare_ids = [i.id for i in spare or []]
        order = [i for i in spare or [] if i in env.instances] + \
            [i for i in reversed(env.instances) if i.id not in spare_ids]
        self._remove(env, order[:max(0, len(env.instances) - target)], when)
        added = [self._new_instance(env, when) for _ in range(target - len(env.instances))]
        for instance in added:
            instance.take(env.version or "", env.deployment, when, passed=True)
        self._host(env, added, env.version)  # they boot and take the version; the load balancer waits for them
        if added:
            self._event(f"Added {self._named(added)} to your environment.", env=env, when=when)

    # -- running the steps ---------------------------------------------------------------------------
    def _start(self, env: Environment, op: Operation, steps: Steps) -> None:
        """Run `steps` on behalf of `op`: at once up to its first yield, then a step every transition, as
        long as `op` is the environment's operation (an abort or a termination replaces it)."""
        env.operation = op
        with serving(op.request_id):  # the events of every step carry the request id of the operation
            wait = next(steps)
            self._resume_later(env, op, steps, wait)

    def _resume_later(self, env: Environment, op: Operation, steps: Steps, wait: float) -> None:
        """The next step after `wait` transitions."""
        def resume(when: datetime) -> None:
            if env.operation is not op:
                return
            try:
                following = steps.send(when)
            except StopIteration:
                return
            self._resume_later(env, op, steps, following)

        self._later(resume, wait)

    # -- how deployments turn out --------------------------------------------------------------------
    def _deploy_problem(self, env: Environment, label: str) -> str | None:
        version = self._version(env.application, label)
        return deploy_outcome.problem(version, services.read_object(self.account_id, version.bucket, version.key),
                                      env.tier)

    def _fails(self, env: Environment, label: str) -> bool:
        return deploy_outcome.fails(self._version(env.application, label), env.tier, env.tags)

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

    # -- how operations end --------------------------------------------------------------------------
    def _settle(self, env: Environment, when: datetime) -> None:
        env.status, env.operation, env.updated = "Ready", None, when

    def _fail(self, env: Environment, operation_name: str, when: datetime) -> None:
        """The end of a failed operation: Ready, the health it leaves, EB's last word."""
        self._settle(env, when)
        self._report_health(env, when)
        self._event(f"{operation_name} environment operation is complete, but with errors. For more information, "
                    "see troubleshooting documentation.", "ERROR", env=env, when=when)
