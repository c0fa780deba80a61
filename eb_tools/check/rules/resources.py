"""`Resources` in `.ebextensions`: run through cfn-lint when it is installed.

EB merges these into the environment's CloudFormation template, where the AWSEB*
resources and Fn::GetOptionSetting exist; findings about those are not real.
Source: EB developer guide, "Adding and customizing Elastic Beanstalk environment resources".
"""
from __future__ import annotations

import json
from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import Finding
from eb_tools.check.yamlines import LineDict

RULES = {"E201": "cfn-lint finding in Resources", "N201": "cfn-lint not installed: Resources not linted"}
EB_PROVIDED = ("AWSEB", "GetOptionSetting")


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.ebextensions:
        data = context.parsed(path)
        if not isinstance(data, LineDict) or not isinstance(data.get("Resources"), dict):
            continue
        try:
            from cfnlint.api import lint_all
        except ImportError:
            yield Finding(path, data.line_of("Resources"), "N201", "cfn-lint is not installed; Resources not linted",
                          "pip install cfn-lint", severity="notice")
            continue
        template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": data["Resources"]}
        resources: LineDict = data["Resources"]
        for match in lint_all(json.dumps(template)):
            message = str(match.message)
            if match.rule.id.startswith("I") or any(marker in message for marker in EB_PROVIDED):
                continue
            resource = match.path[1] if len(match.path) > 1 and match.path[0] == "Resources" else None
            line = resources.line_of(resource) if resource in resources else data.line_of("Resources")
            yield Finding(path, line, "E201", f"cfn-lint {match.rule.id}: {message}",
                          "see the cfn-lint rule's documentation")
