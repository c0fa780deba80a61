"""AWS managed policies the eb CLI and the stage templates attach, present in the local cloud's IAM.

`eb create` attaches AWSElasticBeanstalkWebTier / WorkerTier (and the health and
managed-updates policies) to the roles it makes; moto ships their documents but
loads AWS managed policies only on request (MOTO_IAM_LOAD_MANAGED_POLICIES), all
of them. This loads just Elastic Beanstalk's, RDS enhanced monitoring's (the
stage stack's database monitoring role) and AmazonSSMManagedInstanceCore (what
an instance profile needs for Systems Manager, which people attach to EB's
default instance role), for every IAM backend moto creates.
"""
from __future__ import annotations

import json

from eb_tools.cloud.moto_internals import (
    AWSManagedPolicy,
    IAMBackend,
    ManagedPolicy,
    aws_managed_policies_data,
    once,
    replace,
)

PREFIXES = ("AWSElasticBeanstalk", "AdministratorAccess-AWSElasticBeanstalk", "AmazonRDSEnhancedMonitoringRole",
            "AmazonSSMManagedInstanceCore")


def seed_elastic_beanstalk_policies() -> None:
    """Install the loader on moto's IAM backends (once per process)."""
    once("iam", _install)


def _install() -> None:
    original = IAMBackend._init_aws_policies

    def init_aws_policies(self: IAMBackend) -> list[ManagedPolicy]:
        loaded = original(self)
        if loaded:
            return loaded  # moto loaded every AWS managed policy already
        data = json.loads(aws_managed_policies_data)
        return [AWSManagedPolicy.from_data(name, self.account_id, self.region_name, document)
                for name, document in data.items() if name.startswith(PREFIXES)]

    # moto has no hook for which managed policies a backend loads: replacing the method is the extension point.
    replace(IAMBackend, "_init_aws_policies", init_aws_policies)
