"""The local cloud's CloudFormation resource types: created for real, or refused loudly.

moto's CloudFormation looks resource types up in parsing.get_model_map(), built
from its CloudFormationModel subclasses; a type it lacks is skipped with a log
line and a property its model does not read is dropped, while the stack reaches
CREATE_COMPLETE. register() puts this package's handlers (one module per AWS
service family) in front of moto's models for the types the stage templates use,
and resolves `{{resolve:secretsmanager:...}}` dynamic references.
"""
from __future__ import annotations

from eb_tools.cloud.cfn_resources.base import Handler
from eb_tools.cloud.cfn_resources.cloudfront import HANDLERS as CLOUDFRONT
from eb_tools.cloud.cfn_resources.cloudwatch import HANDLERS as CLOUDWATCH
from eb_tools.cloud.cfn_resources.dynamic_references import resolving
from eb_tools.cloud.cfn_resources.ec2_network import HANDLERS as EC2_NETWORK
from eb_tools.cloud.cfn_resources.ec2_security import HANDLERS as EC2_SECURITY
from eb_tools.cloud.cfn_resources.elasticache import HANDLERS as ELASTICACHE
from eb_tools.cloud.cfn_resources.iam import HANDLERS as IAM
from eb_tools.cloud.cfn_resources.rds import HANDLERS as RDS
from eb_tools.cloud.cfn_resources.rds import register as register_rds
from eb_tools.cloud.cfn_resources.rotation_schedule import HANDLERS as ROTATION
from eb_tools.cloud.cfn_resources.s3 import HANDLERS as S3
from eb_tools.cloud.cfn_resources.secretsmanager import HANDLERS as SECRETSMANAGER
from eb_tools.cloud.cfn_resources.ses import HANDLERS as SES
from eb_tools.cloud.cfn_resources.sns import HANDLERS as SNS
from eb_tools.cloud.cfn_resources.sqs import HANDLERS as SQS
from eb_tools.cloud.moto_internals import cfn_parsing, once, replace

__all__ = ["register", "HANDLERS"]

HANDLERS: tuple[type[Handler], ...] = (
    *S3, *CLOUDFRONT, *SECRETSMANAGER, *ROTATION, *ELASTICACHE, *RDS, *SES, *SNS, *CLOUDWATCH, *SQS, *IAM, *EC2_NETWORK,
    *EC2_SECURITY)


def register() -> None:
    """Make moto's CloudFormation use the handlers and resolve dynamic references (once per process)."""
    once("cfn_resources", _install)


def _install() -> None:
    handlers = {handler.type_name: handler for handler in HANDLERS}
    names = {type_name: handler.name_property for type_name, handler in handlers.items()}
    parsing = cfn_parsing
    moto_list, moto_map, moto_names = parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map
    # parsing calls these by their module-level names. Its declared types (lru_cache wrappers of
    # CloudFormationModel classes) are narrower than what it needs: a Handler offers the class
    # methods parsing calls (type, name property, attributes, create/update).
    replace(parsing, "get_model_list", lambda: [*handlers.values(), *moto_list()])
    replace(parsing, "get_model_map", lambda: {**moto_map(), **handlers})
    replace(parsing, "get_name_type_map", lambda: {**moto_names(), **names})
    replace(parsing, "clean_json", resolving(parsing.clean_json))
    register_rds()
