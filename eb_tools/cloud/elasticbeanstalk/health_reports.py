"""Enhanced health as the backend reports it: DescribeEnvironmentHealth and DescribeInstancesHealth read the
environment (health.py derives its statuses), and each change of its health is an event."""
from __future__ import annotations

from datetime import datetime

from eb_tools.cloud.elasticbeanstalk import health as enhanced
from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.entities import Environment
from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidRequest


class EnvironmentHealth(EBBackendCore):
    @operation
    def health(self, env_id: str | None, name: str | None) -> tuple[Environment, datetime]:
        """The environment as the enhanced-health operations see it, and when they read it."""
        env = self._environment(env_id, name, InvalidRequest)
        self._refresh_hosted_health(env)
        return env, self.clock.now()

    def _refresh_hosted_health(self, env: Environment) -> None:
        """Real instances' health from their processes (hosted.py); nothing in a cloud without them."""

    def _report_health(self, env: Environment, when: datetime) -> None:
        """The health transition event, when the environment's health is not the one last announced."""
        status, causes = env.assess(when)
        if status != env.reported_health:
            self._event(enhanced.transition(env.reported_health, status, causes),
                        "WARN" if status in enhanced.BAD else "INFO", env=env, when=when)
            env.reported_health = status
