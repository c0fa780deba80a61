"""A role's policy document for the stages it is asked for: one statement list per role (deployer.py,
provisioner.py), each stage's statements with its name in their Sids, in one document.

No stage named: every stage of the file, so one policy serves a CI that releases them all. IAM's size limits
apply (an inline user policy 2,048 characters, a managed policy 6,144, whitespace not counted: IAM User Guide,
"IAM and AWS STS quotas"): a managed policy per stage fits; attach one per stage where all do not.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eb_tools.iam import deployer, provisioner
from eb_tools.iam.scope import Scope
from eb_tools.stage_file import load

ROLES = {"deployer": deployer.statements, "provisioner": provisioner.statements}


def document(stage_file: Path, role: str, stages: list[str]) -> dict[str, Any]:
    """The policy document of `role` for `stages` (all of the file's when empty)."""
    loaded = load(stage_file)
    names = stages or list(loaded.stages)
    statements = []
    for name in names:
        suffix = re.sub(r"[^A-Za-z0-9]", "", name.title())
        for statement in ROLES[role](Scope(loaded.stage(name))):
            statements.append({**statement, "Sid": f"{statement['Sid']}{suffix}"})
    return {"Version": "2012-10-17", "Statement": statements}
