"""What a stage's schedule saves: its instances run only in the awake hours (stage file `schedule`).

Both tiers (a blue/green twin too) go to no instance outside the hours, so the lines that follow the instances,
their EC2 hours and their public IPv4 addresses (released with the instance), are paid for the awake share of
the week only. The load balancer, NAT gateways, RDS, ElastiCache, buckets, CDN, queues, alarms and secrets keep
running and are billed in full; the share of the week is the awake hours' (a month of `hours_per_month` hours).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eb_tools.formats.awake_hours import MINUTES_PER_DAY
from eb_tools.stage_file import Schedule

if TYPE_CHECKING:
    from eb_tools.cost.estimate import Item

WEEK_MINUTES = 7 * MINUTES_PER_DAY
FOLLOW_INSTANCES = ("EC2 ", "Public IPv4 (instances)")  # the items that stop with the instances
KEEP_RUNNING = ("the load balancer, NAT gateways, RDS instances and replicas, ElastiCache nodes, buckets, the CDN, "
                "queues, alarms and secrets keep running and are counted in full")


@dataclass(frozen=True)
class Saving:
    awake: str  # the awake hours as the stage file writes them, and their time zone
    awake_share: float  # of the week
    instance_hours: tuple[float, float]  # at min: a month's instance hours awake, and asleep (not paid)
    monthly: tuple[float, float]  # saved a month, at min and at max
    total: tuple[float, float]  # the estimate with the schedule, at min and at max

    def as_dict(self) -> dict[str, Any]:
        return {"awake": self.awake, "awake_share": round(self.awake_share, 4),
                "instance_hours_at_min": {"awake": round(self.instance_hours[0]),
                                          "asleep": round(self.instance_hours[1])},
                "saving": {"min": round(self.monthly[0], 2), "max": round(self.monthly[1], 2)},
                "with_schedule": {"min": round(self.total[0], 2), "max": round(self.total[1], 2)},
                "note": KEEP_RUNNING}


def of(schedule: Schedule, items: list[Item], total: tuple[float, float]) -> Saving:
    """The schedule's saving on the estimate's `items` (whose totals are `total`)."""
    share = schedule.hours.minutes_a_week / WEEK_MINUTES
    asleep = 1 - share
    following = [item for item in items if item.resource.startswith(FOLLOW_INSTANCES)]
    hours = sum(item.count[0] * item.usage for item in following if item.resource.startswith("EC2 "))
    low, high = (sum(item.monthly[k] for item in following) * asleep for k in (0, 1))
    return Saving(f"{schedule.awake} ({schedule.time_zone})", share, (hours * share, hours * asleep), (low, high),
                  (total[0] - low, total[1] - high))
