"""Whether a version deploys to an environment, and EB's words when it does not."""
from __future__ import annotations

from eb_tools.local.elasticbeanstalk import options
from eb_tools.local.elasticbeanstalk.entities import Version

FAIL_MARKER = "[local:fail]"  # a version whose description has it fails to deploy (failure injection)


def problem(version: Version, bundle: bytes | None, tier: str) -> str | None:
    """Why deploying `version` (its source `bundle`, None when unreadable) fails in `tier`; None when it deploys."""
    if FAIL_MARKER in version.description:
        return "Failed to deploy application."
    if bundle is None:
        return f"Unable to download the source bundle s3://{version.bucket}/{version.key}."
    bundle_settings, errors = options.from_bundle(bundle)
    problems = errors + options.validate(bundle_settings, tier)
    return f"Service:AmazonCloudFormation, Message:{problems[0]}" if problems else None
