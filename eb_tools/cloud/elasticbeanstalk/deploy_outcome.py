"""Whether a version deploys to an environment, and EB's words when it does not.

Two ways to fail, as on EB: the bundle is refused before any instance changes (`problem`: unreadable, or
.ebextensions EB would not apply), or the instances take the version and then fail their health checks
(`fails`: failure injection, since the emulation runs no application). A failure is injected by a version
whose description contains FAIL (every tier) or FAIL_IN_TIER[tier], or by the environment's FAIL_TAG
tag: "deploy" (every version deployment fails), a version label (deploying that one fails) or
"configuration" (every configuration-only update fails, and is rolled back).
"""
from __future__ import annotations

from collections.abc import Mapping

from eb_tools.cloud.elasticbeanstalk import options
from eb_tools.cloud.elasticbeanstalk.entities import Version
from eb_tools.formats import option_settings

FAIL = "[local:fail]"
FAIL_IN_TIER = {"WebServer": "[local:fail:web]", "Worker": "[local:fail:worker]"}
FAIL_TAG = "eb-local:fail"


def problem(version: Version, bundle: bytes | None, tier: str) -> str | None:
    """Why EB refuses `version` (its source `bundle`, None when unreadable) in `tier`; None when it does not."""
    if bundle is None:
        return f"Unable to download the source bundle s3://{version.bucket}/{version.key}."
    bundle_settings, errors = option_settings.from_bundle(bundle, version.label)
    if errors:  # EB reads the files itself and says so in its own words (developer guide issue #126)
        return errors[0]
    problems = options.validate(bundle_settings, tier)
    return f"Service:AmazonCloudFormation, Message:{problems[0]}" if problems else None


def fails(version: Version, tier: str, tags: Mapping[str, str]) -> bool:
    """Whether instances that take `version` fail their health checks (an injected failure)."""
    return FAIL in version.description or FAIL_IN_TIER[tier] in version.description \
        or tags.get(FAIL_TAG) in ("deploy", version.label)


def configuration_fails(tags: Mapping[str, str]) -> bool:
    """Whether a configuration-only update of an environment with `tags` fails (an injected failure)."""
    return tags.get(FAIL_TAG) == "configuration"
