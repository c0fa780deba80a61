"""What a stage's tiers run right now, read-only: each environment's label, state, health and, per instance,
the version it really runs (EB has reported success with an instance left behind: only
DescribeInstancesHealth proves that every instance runs the label)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from eb_tools.stage import ebenv


@dataclass(frozen=True)
class TierState:
    tier: str
    environment: str
    exists: bool
    label: str | None = None  # the environment's version label (EB's expected version)
    status: str = ""
    health: str = ""  # the color
    health_status: str = ""
    cname: str = ""
    instances: dict[str, int] = field(default_factory=dict)  # {label an instance runs: how many}
    causes: tuple[str, ...] = ()
    healthy: int = 0  # instances whose health is Ok

    @property
    def uniform(self) -> bool:
        """Every instance runs the environment's label (and there is at least one)."""
        return bool(self.instances) and set(self.instances) == {self.label}

    @property
    def settled_on(self) -> str | None:
        """The label when the environment is Ready, Green and every instance runs it; None otherwise."""
        return self.label if self.exists and self.status == "Ready" and self.health == "Green" and self.uniform \
            else None

    def as_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "environment": self.environment, "exists": self.exists, "label": self.label,
                "status": self.status, "health": self.health, "health_status": self.health_status,
                "url": self.cname, "instances": dict(self.instances), "causes": list(self.causes),
                "uniform": self.uniform}


def running(instances: dict[str, int], none: str = "no instances") -> str:
    """Instances by the version they run, as the commands print them: "1 on v1, 1 on v2"."""
    return ", ".join(f"{n} on {label}" for label, n in sorted(instances.items())) or none


def read(eb: Any, application: str, environments: dict[str, str], causes: bool = False) -> dict[str, TierState]:
    """{tier: its state}; `causes` adds DescribeEnvironmentHealth's causes (one more call per tier)."""
    live = ebenv.describe(eb, application, list(environments.values()))
    return {tier: _tier(eb, tier, name, live.get(name), causes) for tier, name in environments.items()}


def _tier(eb: Any, tier: str, name: str, env: dict[str, Any] | None, causes: bool) -> TierState:
    if env is None:
        return TierState(tier, name, exists=False)
    listed = eb.describe_instances_health(EnvironmentName=name, AttributeNames=["All"])["InstanceHealthList"]
    running = Counter(str(i.get("Deployment", {}).get("VersionLabel") or "?") for i in listed)
    found: tuple[str, ...] = ()
    if causes:
        try:
            found = tuple(eb.describe_environment_health(EnvironmentName=name, AttributeNames=["All"])
                          .get("Causes", []))
        except ClientError:
            found = ()  # health not yet reported (launching): nothing to say
    healthy = sum(1 for i in listed if i.get("HealthStatus") == "Ok")
    return TierState(tier, name, True, env.get("VersionLabel"), env["Status"], env.get("Health", ""),
                     env.get("HealthStatus", ""), env.get("CNAME", ""), dict(running), found, healthy)
