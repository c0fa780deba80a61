"""What `provision` sets on a stage's environments: every option eb_tools owns for each tier, from the stage
file and the stage stack's outputs.

Below provision and release both: provision applies it, and `eb_tools diff` compares the environments with
it (what differs from it was changed by someone else, or by nobody who wrote it down).
"""
from __future__ import annotations

from datetime import datetime

from eb_tools.stage import schedule
from eb_tools.stage.ebenv import PROPERTIES, SECRETS
from eb_tools.stage_file import Stage

Setting = tuple[str, str, str]  # namespace, option, value
# sqsd: EB's defaults, except InactivityTimeout (EB's is 299 s): the worker's gunicorn timeout (180 s), so sqsd gives
# up when gunicorn does, well inside the visibility timeout.
SQSD = {"HttpPath": "/", "MimeType": "application/json", "HttpConnections": "10", "InactivityTimeout": "180",
        "VisibilityTimeout": "300", "ErrorVisibilityTimeout": "60", "MaxRetries": "10"}


def desired_settings(stage: Stage, tier: str, outputs: dict[str, str], now: datetime | None = None) -> list[Setting]:
    """Every option eb_tools owns for this tier, from the stage file and the stage stack's outputs; the
    schedule's actions as planned at `now` (default: the time it is)."""
    spec = stage.web if tier == "web" else stage.worker
    subnets = outputs["PrivateSubnetIds"] if stage.nat else outputs["PublicSubnetIds"]
    settings: list[Setting] = [
        ("aws:autoscaling:asg", "MinSize", str(spec.min)),
        ("aws:autoscaling:asg", "MaxSize", str(spec.max)),
        ("aws:ec2:instances", "InstanceTypes", spec.instance_type),
        ("aws:autoscaling:launchconfiguration", "IamInstanceProfile",
         outputs["WebInstanceProfile" if tier == "web" else "WorkerInstanceProfile"]),
        ("aws:autoscaling:launchconfiguration", "SecurityGroups",
         outputs["WebSecurityGroup" if tier == "web" else "WorkerSecurityGroup"]),
        # Only those groups: by default EB adds a group of its own admitting HTTP (80) "from the internet or
        # load balancer" (EB guide, aws:autoscaling:launchconfiguration), which for a worker, with no load
        # balancer, is the internet. The worker's group admits nothing: sqsd calls the app on localhost.
        ("aws:autoscaling:launchconfiguration", "DisableDefaultEC2SecurityGroup", "true"),
        ("aws:ec2:vpc", "VPCId", outputs["VpcId"]),
        ("aws:ec2:vpc", "Subnets", subnets),
        # Without NAT, instances reach the platform's endpoints through the internet gateway.
        ("aws:ec2:vpc", "AssociatePublicIpAddress", "false" if stage.nat else "true"),
        ("aws:elasticbeanstalk:environment", "ServiceRole", outputs["ServiceRole"]),
        # How a new version reaches the tier's instances: the stage file's choice (applied to the environment,
        # it outranks any .ebextensions setting, so `eb deploy` follows it too).
        *(("aws:elasticbeanstalk:command", name, value) for name, value in spec.deployment.option_settings()),
        (SECRETS, "SECRET_KEY", outputs["SecretKeySecretArn"]),
        *([(SECRETS, "REDIS_AUTH_TOKEN", outputs["RedisAuthSecretArn"])] if "RedisAuthSecretArn" in outputs else []),
        *((PROPERTIES, name, value) for name, value in sorted(properties(stage, tier, outputs).items())),
        *schedule.tier_settings(stage, tier, now),  # off-hours: scheduled actions (stage/schedule.py)
    ]
    if tier == "web":
        settings += [
            ("aws:elasticbeanstalk:environment", "EnvironmentType", "LoadBalanced"),
            ("aws:elasticbeanstalk:environment", "LoadBalancerType", "application"),
            ("aws:ec2:vpc", "ELBSubnets", outputs["PublicSubnetIds"]),
            ("aws:ec2:vpc", "ELBScheme", "public"),
            ("aws:elbv2:loadbalancer", "SecurityGroups", outputs["LoadBalancerSecurityGroup"]),
            ("aws:elbv2:loadbalancer", "ManagedSecurityGroup", outputs["LoadBalancerSecurityGroup"]),
            ("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath", "/healthz"),
            ("aws:elasticbeanstalk:environment:process:default", "MatcherHTTPCode", "200"),
        ]
        if stage.domain:
            settings += [("aws:elbv2:listener:443", "Protocol", "HTTPS"),
                         ("aws:elbv2:listener:443", "SSLCertificateArns", stage.domain.certificate_arn),
                         ("aws:elbv2:listener:443", "SSLPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06")]
    else:
        settings += [("aws:elasticbeanstalk:sqsd", "WorkerQueueURL", outputs["WorkerQueueUrl"]),
                     *(("aws:elasticbeanstalk:sqsd", name, value) for name, value in SQSD.items())]
    return settings


def properties(stage: Stage, tier: str, outputs: dict[str, str]) -> dict[str, str]:
    """The environment properties the apps read (README, "Environment properties")."""
    found = {
        "APP_ROLE": tier,
        "STAGE": stage.name,
        "AWS_REGION": stage.region,
        "UPLOADS_BUCKET": outputs["UploadsBucket"],
        "BACKUP_BUCKET": outputs["BackupBucket"],
        "CDN_URL": f"https://{outputs['CdnDomain']}",
        "WORKER_QUEUE_URL": outputs["WorkerQueueUrl"],
    }
    if "DbHost" in outputs:
        found |= {"DB_HOST": outputs["DbHost"], "DB_READER_HOST": outputs.get("DbReaderHost", outputs["DbHost"]),
                  "DB_PORT": outputs["DbPort"], "DB_SECRET_ARN": outputs["DbSecretArn"]}
    if "RedisHost" in outputs:
        found["REDIS_URL"] = f"rediss://{outputs['RedisHost']}:{outputs['RedisPort']}/0"
    if tier == "web":
        # A browser sends a Secure cookie back only over HTTPS: Secure exactly when the load balancer serves the
        # stage's domain over HTTPS; a plain_http stage's session would otherwise never come back (no log-in).
        found["SESSION_COOKIE_SECURE"] = "true" if stage.domain else "false"
    else:  # the worker sends the mail; the web app only queues it
        found["MAIL_FROM"] = stage.mail.sender
    return found
