"""A stage's monthly estimate: one line item per thing it pays for, at its environments' min and max.

EB's environments (their instances and load balancers) are not in the stage template: they come from the
stage file (tiers' instance types and min/max; a blue/green stage runs a second web environment). The rest
is counted in the generated templates (resources.py): NAT gateways, their addresses and interface endpoints in
the network template, databases, Redis, buckets, the CDN, queues, alarms and secrets in the stage template.
Usage-priced lines (traffic, storage, requests) take the stated assumptions.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from eb_tools.cost import resources, saving
from eb_tools.cost.assumptions import DEFAULTS, Assumptions
from eb_tools.cost.prices import Prices, load
from eb_tools.cost.saving import Saving
from eb_tools.names import web_environments
from eb_tools.provision.templates import network_template, stage_template
from eb_tools.stage_file import Stage, StageFile


@dataclass(frozen=True)
class Item:
    """`count` (at min, at max) things, each using `usage` `unit`s a month at `price` per unit."""

    resource: str
    count: tuple[float, float]
    usage: float
    unit: str
    price: float
    note: str = ""

    @property
    def monthly(self) -> tuple[float, float]:
        return self.count[0] * self.usage * self.price, self.count[1] * self.usage * self.price


@dataclass
class Estimate:
    stage: str
    region: str
    prices: Prices
    assumptions: Assumptions
    items: list[Item] = field(default_factory=list)
    saving: Saving | None = None  # what the stage's schedule saves (none without one)

    @property
    def total(self) -> tuple[float, float]:
        return sum(i.monthly[0] for i in self.items), sum(i.monthly[1] for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        low, high = self.total
        return {"stage": self.stage, "region": self.region, "currency": "USD",
                "monthly": {"min": round(low, 2), "max": round(high, 2)},
                "items": [asdict(i) | {"monthly": {"min": round(i.monthly[0], 2), "max": round(i.monthly[1], 2)}}
                          for i in self.items],
                "assumptions": self.assumptions.as_dict(),
                "prices": {"date": self.prices.date, "source": self.prices.source},
                **({"schedule": self.saving.as_dict()} if self.saving else {})}


def estimate(file: StageFile, name: str, assumptions: Assumptions = DEFAULTS) -> Estimate:
    """The stage's estimate; PriceMissing (one line) when the table lacks its region or one of its types."""
    stage = file.stage(name)
    prices = load(stage.region)
    network, template = network_template(file, stage.isolation), stage_template(file, name)
    result = Estimate(name, stage.region, prices, assumptions)
    hours = assumptions.hours_per_month
    result.items += _compute(stage, prices, hours)
    result.items += _load_balancers(stage, network, prices, assumptions)
    result.items += _nat(file, stage, network, prices, assumptions)
    result.items += _endpoints(file, stage, network, prices, assumptions)
    result.items += _databases(template, prices, assumptions)
    result.items += [Item(f"ElastiCache {kind}", (n, n), hours, "hour", prices.get("elasticache_hour", kind))
                     for kind, n in resources.cache_nodes(template).items()]
    result.items += _storage_and_cdn(template, prices, assumptions)
    result.items += _messaging(template, prices, assumptions)
    if stage.schedule is not None:
        result.saving = saving.of(stage.schedule, result.items, result.total)
    return result


def _compute(stage: Stage, prices: Prices, hours: float) -> list[Item]:
    """Each tier's instances, and their public IPv4 addresses when they sit in public subnets (no NAT: the
    environments set AssociatePublicIpAddress, stage/desired.py)."""
    webs = len(web_environments(stage.application, stage.name, stage.web.blue_green))
    tiers = [("web", stage.web, webs), ("worker", stage.worker, 1)]
    items = [Item(f"EC2 {tier.instance_type} ({name})", (tier.min * envs, tier.max * envs), hours, "hour",
                  prices.get("ec2_hour", tier.instance_type),
                  f"{envs} web environments (blue/green)" if envs > 1 else "")
             for name, tier, envs in tiers]
    if not stage.nat:
        low, high = (sum(i.count[k] for i in items) for k in (0, 1))
        items.append(Item("Public IPv4 (instances)", (low, high), hours, "hour", prices.get("public_ipv4_hour"),
                          "instances in public subnets"))
    return items


def _load_balancers(stage: Stage, network: resources.Template, prices: Prices, assumed: Assumptions) -> list[Item]:
    """One Application Load Balancer per web environment, with a public address in each public subnet."""
    albs = float(len(web_environments(stage.application, stage.name, stage.web.blue_green)))
    addresses = albs * resources.public_subnets(network)
    hours = assumed.hours_per_month
    return [Item("Application Load Balancer", (albs, albs), hours, "hour", prices.get("alb_hour")),
            Item("ALB capacity units", (albs, albs), hours * assumed.alb_lcu, "LCU-hour", prices.get("alb_lcu_hour"),
                 f"{assumed.alb_lcu:g} LCU per ALB assumed"),
            Item("Public IPv4 (load balancers)", (addresses, addresses), hours, "hour",
                 prices.get("public_ipv4_hour"), "one per public subnet per ALB")]


def _nat(file: StageFile, stage: Stage, network: resources.Template, prices: Prices,
         assumed: Assumptions) -> list[Item]:
    """The network's NAT gateways and their Elastic IPs; shared by the isolation group's stages."""
    gateways = float(resources.count(network, "AWS::EC2::NatGateway"))
    if not gateways:
        return []
    note = _shared_note(file, stage)
    addresses = float(resources.count(network, "AWS::EC2::EIP"))
    hours = assumed.hours_per_month
    return [Item("NAT gateway", (gateways, gateways), hours, "hour", prices.get("nat_hour"), note),
            Item("NAT data processed", (1, 1), assumed.nat_gb, "GB", prices.get("nat_gb"), "assumed"),
            Item("Public IPv4 (NAT)", (addresses, addresses), hours, "hour", prices.get("public_ipv4_hour"))]


def _shared_note(file: StageFile, stage: Stage) -> str:
    shared = file.network(stage.isolation).stages
    return f"network shared with {', '.join(s for s in shared if s != stage.name)}" if len(shared) > 1 else ""


def _endpoints(file: StageFile, stage: Stage, network: resources.Template, prices: Prices,
               assumed: Assumptions) -> list[Item]:
    """The network's interface endpoints (Secrets Manager's, for the rotation function without NAT), per zone-hour;
    their data processed ($0.01/GB) is Secrets Manager's calls alone, left out."""
    zones = float(resources.interface_endpoint_zones(network))
    if not zones:
        return []
    note = ", ".join(n for n in (_shared_note(file, stage), "data processed negligible") if n)
    return [Item("VPC interface endpoint (Secrets Manager)", (zones, zones), assumed.hours_per_month, "AZ-hour",
                 prices.get("vpc_endpoint_az_hour"), note)]


def _databases(template: resources.Template, prices: Prices, assumed: Assumptions) -> list[Item]:
    """Each RDS instance (Multi-AZ runs, and stores on, a standby too) and its storage."""
    items = []
    for db in resources.db_instances(template):
        copies = 2.0 if db.multi_az else 1.0
        role = "replica" if db.replica else "writer"
        az = ", Multi-AZ" if db.multi_az else ""
        items += [Item(f"RDS {db.instance_class} {db.engine} ({db.name}{az})", (copies, copies),
                       assumed.hours_per_month, "hour", prices.get("rds_hour", db.engine, db.instance_class), role),
                  Item(f"RDS {db.storage_type} storage ({db.name}{az})", (copies, copies), db.storage_gb, "GB-month",
                       prices.get("rds_storage_gb_month", db.storage_type), "allocated storage")]
    if items and assumed.backup_gb_beyond_free:
        items.append(Item("RDS backup storage", (1, 1), assumed.backup_gb_beyond_free, "GB-month",
                          prices.get("s3_gb_month"), "beyond the free allocation, assumed"))
    return items


def _storage_and_cdn(template: resources.Template, prices: Prices, assumed: Assumptions) -> list[Item]:
    buckets = resources.count(template, "AWS::S3::Bucket")
    items = []
    if buckets:
        note = f"{buckets} buckets, assumed"
        items += [Item("S3 Standard storage", (1, 1), assumed.s3_gb, "GB-month", prices.get("s3_gb_month"), note),
                  Item("S3 PUT/POST/LIST requests", (1, 1), assumed.s3_puts, "request",
                       prices.get("s3_put_request"), "assumed"),
                  Item("S3 GET requests", (1, 1), assumed.s3_gets, "request", prices.get("s3_get_request"),
                       "assumed")]
    cdns = float(resources.count(template, "AWS::CloudFront::Distribution"))
    if cdns:
        items += [Item("CloudFront data out", (1, 1), assumed.cdn_gb_out, "GB", prices.get("cloudfront_gb"),
                       "assumed; free tier ignored"),
                  Item("CloudFront HTTPS requests", (1, 1), assumed.cdn_requests, "request",
                       prices.get("cloudfront_request"), "assumed")]
    return items


def _messaging(template: resources.Template, prices: Prices, assumed: Assumptions) -> list[Item]:
    """Queues, alarms and secrets: counted in the template (alarms by the metrics CloudWatch bills)."""
    items = []
    queues = resources.count(template, "AWS::SQS::Queue")
    if queues:
        items.append(Item("SQS requests", (1, 1), assumed.sqs_requests, "request", prices.get("sqs_request"),
                          f"{queues} queues; assumed, free tier ignored"))
    metrics = float(resources.alarm_metrics(template))
    if metrics:
        items.append(Item("CloudWatch alarm metrics", (metrics, metrics), 1, "month",
                          prices.get("alarm_metric_month"), "load balancer alarms counted (added once it exists)"))
    secrets = float(resources.count(template, "AWS::SecretsManager::Secret"))
    if secrets:
        # The rotation function runs four short Lambda invocations per rotation: a fraction of a cent a month.
        rotating = resources.count(template, "AWS::SecretsManager::RotationSchedule")
        note = "the rotation function's Lambda use is negligible" if rotating else ""
        items += [Item("Secrets Manager secrets", (secrets, secrets), 1, "month", prices.get("secret_month"), note),
                  Item("Secrets Manager API calls", (1, 1), assumed.secret_api_calls, "call",
                       prices.get("secret_api_call"), "assumed")]
    return items
