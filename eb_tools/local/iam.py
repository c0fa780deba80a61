"""AWS managed policies the eb CLI and the stage templates attach, present in the local cloud's IAM.

`eb create` attaches AWSElasticBeanstalkWebTier / WorkerTier (and the health and
managed-updates policies) to the roles it makes; moto ships their documents but
loads AWS managed policies only on request (MOTO_IAM_LOAD_MANAGED_POLICIES), all
of them. This loads just Elastic Beanstalk's and RDS enhanced monitoring's (the
stage stack's database monitoring role), for every IAM backend moto creates.
"""
from __future__ import annotations

import json

from moto.iam import models as iam_models
from moto.iam.aws_managed_policies import aws_managed_policies_data

PREFIXES = ("AWSElasticBeanstalk", "AdministratorAccess-AWSElasticBeanstalk", "AmazonRDSEnhancedMonitoringRole")


def seed_elastic_beanstalk_policies() -> None:
    backend_class = iam_models.IAMBackend
    if getattr(backend_class, "_eb_tools_seeded", False):
        return
    original = backend_class._init_aws_policies

    def init_aws_policies(self: iam_models.IAMBackend) -> list[iam_models.ManagedPolicy]:
        loaded = original(self)
        if loaded:
            return loaded  # moto loaded every AWS managed policy already
        data = json.loads(aws_managed_policies_data)
        return [iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, document)
                for name, document in data.items() if name.startswith(PREFIXES)]

    # moto has no hook for which managed policies a backend loads: replacing the method is the extension point,
    # and the mark on its class keeps it to once.
    backend_class._init_aws_policies = init_aws_policies  # type: ignore[method-assign]
    backend_class._eb_tools_seeded = True  # type: ignore[attr-defined]
