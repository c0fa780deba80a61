"""Environment names: EB's 40 characters, the tier kept, never two stages or tiers on one name."""
from __future__ import annotations

import re

from eb_tools.names import environment_names, web_environments

EB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$")


def test_short_names_are_spelled_out():
    assert environment_names("oppima", "staging") == {"web": "oppima-staging-web", "worker": "oppima-staging-worker"}


def test_long_names_fit_keep_their_tier_and_stay_unique():
    application = "a-very-long-application-name-for-an-agency-client"
    names = [environment_names(application, stage) for stage in ("staging", "staging2", "production")]
    flat = [name for pair in names for name in pair.values()]
    assert len(set(flat)) == len(flat)
    for pair in names:
        assert all(EB_NAME.match(name) for name in pair.values()), pair
        assert pair["web"].endswith("-web") and pair["worker"].endswith("-worker")
    assert environment_names(application, "staging") == names[0]  # deterministic


def test_a_blue_green_stage_has_a_web_twin_of_its_own():
    assert web_environments("oppima", "staging", False) == ["oppima-staging-web"]
    assert web_environments("oppima", "staging", True) == ["oppima-staging-web", "oppima-staging-web-b"]
    application = "a-very-long-application-name-for-an-agency-client"
    web, twin = web_environments(application, "production", True)
    assert EB_NAME.match(twin) and twin.endswith("-web-b") and twin != web
    assert twin not in environment_names(application, "production").values()
