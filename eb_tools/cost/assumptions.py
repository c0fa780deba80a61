"""What the estimate assumes where a price depends on use rather than on what the templates create: one small
set for every stage, printed with each estimate so a reader can scale it to their traffic."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Assumptions:
    hours_per_month: float = 730  # AWS's own month in its price pages (24 × 365 / 12)
    alb_lcu: float = 1.0  # average load balancer capacity units used per hour, per ALB (a small site)
    nat_gb: float = 100  # GB processed per month through the stage's NAT gateways, all together
    cdn_gb_out: float = 100  # GB CloudFront sends to browsers per month (the free tier ignored)
    cdn_requests: float = 1_000_000  # HTTPS requests to CloudFront per month
    s3_gb: float = 50  # GB stored in the stage's buckets, all together (S3 Standard)
    s3_puts: float = 100_000  # PUT/POST/LIST requests per month (uploads, variants, backups)
    s3_gets: float = 1_000_000  # GET requests per month (CloudFront's misses, the worker's reads)
    sqs_requests: float = 2_000_000  # sqsd long-polls all month; the free million is ignored
    secret_api_calls: float = 10_000  # GetSecretValue calls per month (each deployment and instance start)
    backup_gb_beyond_free: float = 0  # RDS backup storage beyond the free 100% of provisioned storage

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULTS = Assumptions()
