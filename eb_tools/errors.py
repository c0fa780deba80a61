"""The toolkit's one error hierarchy: every failure a user should read is an `EbToolsError`, one line saying
what failed, where, and how to fix it.

Code below the command line raises these and never prints or exits; `cli.py` is the single boundary that
turns one (or AWS's refusal, `aws_message`) into one line on stderr and exit status 1. Leaf module: it
imports nothing of the toolkit, so every package may raise its kinds.
"""
from __future__ import annotations


class EbToolsError(Exception):
    """One line: what failed, where, and how to fix it."""


class AccountError(EbToolsError):
    """The credentials in use belong to another account than the stage file declares for the stage."""


class StageFileError(EbToolsError):
    """The stage file (eb_tools.yaml, or --file) cannot be read or is invalid."""


class BundleError(EbToolsError):
    """The source bundle cannot be built."""


class ProvisionError(EbToolsError):
    """Provisioning a stage was refused or failed."""


class ReleaseError(EbToolsError):
    """A deploy, promote or rollback was refused, failed, or was put back."""


class DataError(EbToolsError):
    """A snapshot or restore of a stage's database was refused or failed, or a restore drill missed its goal
    or its verification."""


class RemoteError(EbToolsError):
    """A command or a session on a stage's instance was refused (no such tier, instance or managed node) or
    did not end."""


class PriceMissing(EbToolsError):
    """The price table has no price for a stage's region or one of its resources; the message says how to
    refresh it."""


class OperationFailed(EbToolsError):
    """An Elastic Beanstalk operation ended with errors; the message names it and EB's first reason."""


class LogsError(EbToolsError):
    """`eb_tools logs`: an option it cannot read, or a stage whose environments stream no logs."""


class LocalStageError(EbToolsError):
    """The local stage cannot start, or its kept state cannot be read."""


class SavedStateError(LocalStageError):
    """The local stage's kept state (its data folder) cannot be read by this eb_tools."""


class WaitTimeout(EbToolsError, TimeoutError):
    """A wait ran past its deadline; the message names what never happened."""


class CloudError(EbToolsError):
    """The emulated cloud cannot start (a moto without what it extends, a kept state it cannot read)."""


def aws_message(error: Exception, where: str = "", profile: str | None = None) -> str | None:
    """AWS's refusal (botocore's ClientError), missing credentials (of `profile`, when one is named) or a
    connection failure as one line prefixed by `where` (a stage, a command); None for anything else."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    prefix = f"{where}: " if where else ""
    if isinstance(error, NoCredentialsError):
        named = f" (profile {profile})" if profile else ""
        return (f"{prefix}no AWS credentials{named}; configure them (aws configure, AWS_PROFILE, or "
                "stages.<name>.profile in the stage file)")
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{prefix}AWS refused {error.operation_name}: {info.get('Code')}: {info.get('Message')}"
    if isinstance(error, BotoCoreError):
        return f"{prefix}{error}"
    return None
