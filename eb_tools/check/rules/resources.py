"""`Resources` (and Parameters, Mappings, Conditions, Outputs) in `.ebextensions`, through cfn-lint.

cfn-lint sees the template EB would deploy (eb_tools/check/template.py): every
configuration file merged, over stand-ins for EB's own resources, so an override
such as `AWSEBAutoScalingGroup: {Metadata: ...}` is judged merged, as EB deploys
it. cfn-lint's errors are errors, its warnings warnings. A bundle that refers to
an EB resource only one tier has (a load balancer, the worker queue) fails to
deploy to the other tier: like tier-specific options, an error when the stage
file says the bundle goes to both tiers, a warning otherwise.
Source: EB developer guide, "Adding and customizing Elastic Beanstalk environment
resources" and "Modifying the resources that Elastic Beanstalk creates for your environment".
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from eb_tools.check import template as eb_template
from eb_tools.check.context import STAGE_FILE, CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule

SOURCE = f"{GUIDE}environment-resources.html"
E201 = Rule("E201", "cfn-lint error in the template EB would deploy", SOURCE)
W201 = Rule("W201", "cfn-lint warning in the template EB would deploy", SOURCE)
N201 = Rule("N201", "cfn-lint not installed: Resources not linted", SOURCE)
E202 = Rule("E202", "reference to an EB resource of one tier, in a bundle that goes to web and worker environments",
            f"{GUIDE}customize-containers-format-resources-eb.html")
W202 = Rule("W202", "reference to an EB resource of one tier: right only while the bundle goes to that tier",
            f"{GUIDE}customize-containers-format-resources-eb.html")
RULES = (E201, W201, N201, E202, W202)
REGION = "us-east-1"  # cfn-lint's default region: the resource types and properties of any commercial region


def check(context: CheckContext) -> Iterator[Finding]:
    template = eb_template.build(context)
    if template is None:
        return
    yield from _tier_references(context, template)
    try:
        from cfnlint.api import lint
        from cfnlint.config import ManualArgs
    except ImportError:
        for file, line in template.files.items():
            yield Finding(file, line, N201, "cfn-lint is not installed; Resources not linted", "pip install cfn-lint")
        return
    seen: set[tuple[str, tuple[object, ...]]] = set()
    for match in lint(json.dumps(template.body), config=ManualArgs(regions=[REGION])):
        rule_id, path = str(match.rule.id), list(match.path)
        if rule_id[:1] not in ("E", "W") or (rule_id, tuple(path)) in seen:
            continue  # informational, or one more way the same value fails the same rule
        seen.add((rule_id, tuple(path)))
        where = template.locate(path)
        if where is None:
            continue  # about EB's own resources, as eb_tools stands them in
        yield _finding(template, match, rule_id, path, where)


def _finding(template: eb_template.Template, match: Any, rule_id: str, path: list[Any],
             where: tuple[str, int]) -> Finding:
    """cfn-lint's finding in the bundle's terms. One about a value EB's own resource gives (a Ref or
    Fn::GetAtt of it) is a warning at most: eb_tools only stands that resource in, cfn-lint cannot know it."""
    message = str(match.message).rstrip(".")
    from_eb = sorted(set(eb_template.references(template.value(path))) & template.stand_ins)
    rule = E201 if rule_id.startswith("E") and not from_eb else W201
    if from_eb and rule_id.startswith("E"):
        message += f" (a value of EB's own {', '.join(from_eb)}, which eb_tools cannot see: checked as a warning)"
    location = template.describe(path)
    source = getattr(match.rule, "source_url", "") or "the cfn-lint rule's documentation"
    return Finding(where[0], where[1], rule, f"cfn-lint {rule_id} at {location}: {message}", f"see {source}")


def _tier_references(context: CheckContext, template: eb_template.Template) -> Iterator[Finding]:
    resources = eb_template.eb_resources()
    for target, (section, name) in template.missing.items():
        tier = resources[target].tier
        where = template.locate([section, name])
        if tier is None or where is None:
            continue
        other = "worker" if tier == "web" else "web"
        what = f"{template.describe([section, name])} refers to {target}, which only {tier} environments have"
        if context.both_tiers:
            yield Finding(where[0], where[1], E202,
                          f"{what}; deploying the bundle to the {other} environment fails ({STAGE_FILE}: every "
                          "stage has a web and a worker environment)",
                          f"define {target} in the bundle, or configure it per tier with `eb_tools provision`")
        else:
            yield Finding(where[0], where[1], W202,
                          f"{what}; fine while this bundle goes only to {tier} environments, a failed deployment "
                          f"if it also goes to a {other} one", "keep it if the bundle has one tier")
