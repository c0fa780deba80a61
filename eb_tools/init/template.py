"""The stage file `eb_tools init` writes: its commented template, in one place, and the values it is filled with.

Three shapes of stage: `local` (what `eb_tools local` and `make up` run on this machine), `production` (a
network of its own, NAT, Multi-AZ, Immutable deployments) and any other name, shaped like staging. Only what
must be the user's own is asked: the application, region, account, addresses and domains; sizes are the
shipped file's, to be edited afterwards. Every value is written as a YAML scalar that reads back as itself.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from string import Template

import yaml

from eb_tools.stage_file import PRODUCTION

LOCAL = "local"  # the stage eb_tools local runs by default (eb_tools/local/run.py)
PLATFORM = "Python 3.11 running on 64bit Amazon Linux 2023"


@dataclass(frozen=True)
class StageValues:
    """What one AWS stage takes from the user; empty strings for none."""

    name: str
    mail_from: str
    mail_identity: str  # "address" or "domain" (stage_file.Mail)
    domain: str = ""
    certificate_arn: str = ""  # empty with a domain: HTTPS waits, commented, until the certificate exists


@dataclass(frozen=True)
class FileValues:
    application: str
    region: str
    account: str  # empty: provision checks no account
    alarm_email: str
    stages: tuple[StageValues, ...]  # in the order given; `local` takes only its sender (a .test address)


HEADER = Template("""\
# The stages `eb_tools provision STAGE` builds (checked by eb_tools/stage_file.py; first written by
# `eb_tools init`, then yours to edit: `eb_tools provision STAGE --dry-run` checks it again).
# Every stage gets a web and a worker environment (<application>-<stage>-web/-worker),
# a stack of its own (security groups, RDS, Redis, buckets, CloudFront, queues,
# roles, alarms) and the network of its isolation group. Production has a network
# of its own; staging, QA and dev may share one.

# The EB application, one per repository and shared by its stages, so a tested label moves between them. It
# names the stacks, environments, buckets and roles: 2-30 lowercase letters, digits or hyphens.
application: $application
region: $region                 # every stage's region, unless the stage sets its own
platform: $platform   # the EB platform branch of both tiers

stages:
""")

LOCAL_STAGE = Template("""\
  # The stage `eb_tools local` (and `make up`) runs on this machine against the emulated cloud, shaped
  # like staging: its database (a MariaDB server, with a replica fed by the binary log)
  # and Redis (a redis-server requiring the AUTH token over TLS) are real servers. No AWS account is used.
  local:
    region: us-east-1
    isolation: local
    web:
      instance_type: t3.micro
      min: 2
      max: 6
      deployment: {policy: Rolling, batch_size: 1}   # as staging's
    worker: {instance_type: t3.micro, min: 1, max: 2}
    database:
      engine: mariadb
      engine_version: "10.11.14"  # the local cloud runs this machine's MariaDB 10.11 for any 10.11.x
      instance_class: db.t4g.micro
      multi_az: false
      read_replicas: 1
      allocated_storage_gb: 20
      max_storage_gb: 50
      backup_retention_days: 1
      deletion_protection: false
    redis: {node_type: cache.t4g.micro, replicas: 0}
    plain_http: true              # served at http://127.0.0.1: no domain, no HTTPS
    # .test is a reserved name (RFC 2606): the local cloud keeps what it sends (see /moto-api/), nothing leaves.
    mail: {from: $mail_from}
    alarm_email: $alarm_email
""")

STAGING_LIKE = Template("""\
  # Shaped like staging: small instances, a database with one replica, public subnets (no NAT). Stages of
  # one isolation group share its network, so they share its region, account and NAT setting too.
  $name:
    # profile: agency-staging     # an AWS profile, when the stage lives in another account
$account    isolation: nonprod
    web:
      instance_type: t3.small
      min: 2
      max: 6
      # How a new version reaches the instances (EB's deployment policies): one instance at a time, so one
      # serves while the other updates, and no instance is added. Left out: RollingWithAdditionalBatch, which
      # first adds an instance on the new version and keeps full capacity. The worker's default is Rolling.
      deployment: {policy: Rolling, batch_size: 1}
    worker: {instance_type: t3.small, min: 1, max: 2}
    database:
      engine: mariadb
      engine_version: "10.11.14"  # a version RDS offers in the region (the tests check it with cfn-lint)
      instance_class: db.t4g.micro
      multi_az: false
      read_replicas: 1
      allocated_storage_gb: 20
      max_storage_gb: 50
      backup_retention_days: 3
      deletion_protection: false
    redis: {node_type: cache.t4g.micro, replicas: 0}
$address$mail$alarm""")

PRODUCTION_STAGE = Template("""\
  # Production: a network of its own, instances in private subnets, Multi-AZ data stores, kept backups.
  $name:
    # profile: agency-production  # an AWS profile, when the stage lives in another account
$account    isolation: production
    nat: true                     # instances in private subnets, outbound through NAT
    web:
      instance_type: t3.medium
      min: 2
      max: 6
      # A full set of new instances, kept only when all pass their health checks: a failed release never
      # touches the running ones. TrafficSplitting (a canary share of the traffic first) is the other choice.
      deployment: {policy: Immutable}
    worker: {instance_type: t3.medium, min: 1, max: 4, deployment: {policy: RollingWithAdditionalBatch}}
    database:
      engine: mariadb
      engine_version: "10.11.14"
      instance_class: db.t4g.medium
      multi_az: true
      read_replicas: 1
      allocated_storage_gb: 50
      max_storage_gb: 500
      backup_retention_days: 14
      deletion_protection: true
      restore_goal_minutes: 15    # `eb_tools db restore production --drill` fails when it takes longer
    redis: {node_type: cache.t4g.small, replicas: 2}
$address$mail$alarm""")

ACCOUNT = Template('    account: $account     # provision refuses credentials of any other account\n')
NO_ACCOUNT = '    # account: "123456789012"     # provision refuses credentials of any other account\n'

HTTPS = Template("""\
    # HTTPS on the load balancer with this ACM certificate (of the stage's region); point the name at the
    # web environment's load balancer in DNS.
    domain:
      name: $domain
      certificate_arn: $certificate_arn
""")
HTTPS_LATER = Template("""\
    # HTTPS once its certificate exists: request one for $domain
    # in ACM (region $region) and validate it, then uncomment these lines with its ARN and remove plain_http.
    # domain:
    #   name: $domain
    #   certificate_arn: arn:aws:acm:$region:$account:certificate/<id>
    plain_http: true              # until the domain above is set: then remove this line (HTTPS only)
""")
HTTP_ONLY = """\
    # No domain: served over plain http at <env>.<region>.elasticbeanstalk.com, which must be said outright
    # (the session cookie then goes without its Secure flag). Give it a domain for HTTPS and drop this line.
    plain_http: true
"""

MAIL_ADDRESS = Template("""\
    # The sender of the stage's mail: provision creates this SES identity, and SES mails the address a link to
    # follow before it sends anything from it (see `eb_tools status`). Use an address you receive mail at.
    mail: {from: $mail_from}
""")
MAIL_DOMAIN = Template("""\
    # A domain identity: provision prints three DKIM CNAME records to publish in the domain's DNS; SES sends
    # from any address of the domain once it finds them (see `eb_tools status`).
    mail: {from: $mail_from, identity: domain}
""")
ALARM = Template("""\
    alarm_email: $alarm_email    # where the stage's alarms are mailed (SNS asks the address to confirm first)
""")


def render(values: FileValues) -> str:
    """The stage file's text for `values`, with every key's comment."""
    header = HEADER.substitute(application=scalar(values.application), region=scalar(values.region),
                               platform=PLATFORM)
    return header + "\n".join(_stage(stage, values) for stage in values.stages)


def _stage(stage: StageValues, values: FileValues) -> str:
    alarm = scalar(values.alarm_email)
    if stage.name == LOCAL:
        return LOCAL_STAGE.substitute(mail_from=scalar(stage.mail_from), alarm_email=alarm)
    shape = PRODUCTION_STAGE if stage.name == PRODUCTION else STAGING_LIKE
    return shape.substitute(name=scalar(stage.name), account=_account(values.account),
                            address=_address(stage, values), mail=_mail(stage),
                            alarm=ALARM.substitute(alarm_email=alarm))


def _account(account: str) -> str:
    return ACCOUNT.substitute(account=json.dumps(account)) if account else NO_ACCOUNT


def _address(stage: StageValues, values: FileValues) -> str:
    if not stage.domain:
        return HTTP_ONLY
    if stage.certificate_arn:
        return HTTPS.substitute(domain=scalar(stage.domain), certificate_arn=scalar(stage.certificate_arn))
    return HTTPS_LATER.substitute(domain=scalar(stage.domain), region=values.region,
                                  account=values.account or "ACCOUNT")


def _mail(stage: StageValues) -> str:
    shape = MAIL_DOMAIN if stage.mail_identity == "domain" else MAIL_ADDRESS
    return shape.substitute(mail_from=scalar(stage.mail_from))


def scalar(value: str) -> str:
    """`value` as a YAML scalar that reads back as the same string: plain when it is safe, else quoted (a
    typed value never changes the file's structure)."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@/-]*", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)
