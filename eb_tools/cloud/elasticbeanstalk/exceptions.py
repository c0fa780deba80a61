"""EB's errors, with the codes the EB API answers (moto serializes a ServiceException as an AWS error)."""
from __future__ import annotations

from eb_tools.cloud.moto_internals import ServiceException


class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceException):
    code = "InvalidParameterCombination"


class MissingParameter(ServiceException):
    code = "MissingParameter"


class ConfigurationValidation(ServiceException):
    code = "ConfigurationValidationException"


class TooManyApplicationVersions(ServiceException):
    """More versions than the account's quota in the region (EB's default quota is 1,000, over every application)."""

    code = "TooManyApplicationVersionsException"


class InvalidRequest(ServiceException):
    """What the enhanced-health operations answer where others answer InvalidParameterValue."""

    code = "InvalidRequestException"


class ResourceNotFound(ServiceException):
    code = "ResourceNotFoundException"


class InvalidAction(ServiceException):
    """An operation the emulation lacks: answered at once, where moto's HTML 500 makes the eb CLI retry."""

    code = "InvalidAction"
