"""Names of a stage's Elastic Beanstalk environments: `<application>-<stage>-web` and `-worker`, and of its
stage stack, `<application>-<stage>-resources` (which provision makes and the data verbs read).

EB allows 4 to 40 letters, digits and hyphens. A longer name keeps its tier
suffix and gets a short hash of the full `<application>-<stage>` in place of the
cut-off part, so names stay readable, deterministic, and unique per
application, stage and tier.
"""
from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 40
TIERS = ("web", "worker")
TWIN = "web-b"  # a blue/green stage's second web environment (stages.NAME.web.blue_green)


def environment_name(application: str, stage: str, tier: str) -> str:
    if tier not in (*TIERS, TWIN):
        raise ValueError(f"tier {tier!r} is not one of {', '.join((*TIERS, TWIN))}")
    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"{application}-{stage}").strip("-")
    name = f"{base}-{tier}"
    if len(name) <= MAX_LENGTH:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    keep = MAX_LENGTH - len(tier) - len(digest) - 2
    return f"{base[:keep].rstrip('-')}-{digest}-{tier}"


def environment_names(application: str, stage: str) -> dict[str, str]:
    """{tier: environment name} for both tiers of a stage."""
    return {tier: environment_name(application, stage, tier) for tier in TIERS}


def web_environments(application: str, stage: str, blue_green: bool) -> list[str]:
    """Every web environment of a stage: the one it was provisioned with, and its twin when blue/green."""
    return [environment_name(application, stage, "web"), *([environment_name(application, stage, TWIN)]
                                                           if blue_green else [])]


def network_stack_name(application: str, group: str) -> str:
    """The network stack of an isolation group, shared by the stages that name it."""
    return f"{application}-{group}-network"


def stage_stack_name(application: str, stage: str) -> str:
    """The stack of a stage's own resources (its database, Redis, buckets, queues, roles)."""
    return f"{application}-{stage}-resources"
