"""SSH into the instances: a key pair, or port 22 opened by `.ebextensions`. This setup reaches its instances
through Systems Manager (`eb_tools run`, `eb_tools shell`), so both are a door nobody needs; warnings, since a
bundle may have its reasons (a bastion host).

W130: aws:autoscaling:launchconfiguration EC2KeyName, the key pair EB launches instances with (EB guide,
command-options-general). W131: SSHSourceRestriction, "protocol, fromPort, toPort, source_restriction", which
EB applies to its own instance security group, naming port 22 (the guide's example is `tcp, 22, 22,
54.240.196.185/32`). W230: a security-group ingress rule in `Resources` (a new group, a separate
AWS::EC2::SecurityGroupIngress, or an override of EB's own AWSEBSecurityGroup) that admits port 22: TCP over a
range that holds it, or every protocol (-1).
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.formats import option_settings
from eb_tools.formats.yamlines import LineDict

W130 = Rule("W130", "EC2 key pair for SSH: reach instances through Systems Manager instead",
            f"{GUIDE}command-options-general.html#command-options-general-autoscalinglaunchconfiguration")
W131 = Rule("W131", "SSHSourceRestriction opening port 22",
            f"{GUIDE}command-options-general.html#command-options-general-autoscalinglaunchconfiguration")
W230 = Rule("W230", "security group rule admitting port 22", f"{GUIDE}environment-resources.html")
RULES = (W130, W131, W230)
LAUNCH = "aws:autoscaling:launchconfiguration"
INSTEAD = "use `eb_tools shell STAGE` or `eb_tools run STAGE -- COMMAND` (Systems Manager), then"


def check(context: CheckContext) -> Iterator[Finding]:
    for path in context.ebextensions:
        data = context.parsed(path)
        if not isinstance(data, LineDict):
            continue  # unreadable files are E001's
        if "option_settings" in data:
            yield from _options(path, data["option_settings"], data.line_of("option_settings"))
        resources = data.get("Resources")
        if isinstance(resources, dict):
            yield from _ingress(path, resources)


def _options(path: str, body: object, line: int) -> Iterator[Finding]:
    for setting in option_settings.parse(body, line).settings:
        if setting.namespace != LAUNCH or setting.value in (None, ""):
            continue
        if setting.option == "EC2KeyName":
            yield Finding(path, setting.line, W130, f"EC2KeyName {setting.value!r} gives the instances a key "
                          "pair for SSH", f"{INSTEAD} remove the option")
        elif setting.option == "SSHSourceRestriction" and _restriction_opens_22(str(setting.value)):
            yield Finding(path, setting.line, W131, f"SSHSourceRestriction {setting.value!r} opens port 22 on "
                          "the instances", f"{INSTEAD} remove the option")


def _restriction_opens_22(value: str) -> bool:
    parts = [part.strip() for part in value.split(",")]
    if len(parts) < 3:
        return False
    return _rule_opens_22(parts[0], parts[1], parts[2])


def _ingress(path: str, resources: dict[object, object]) -> Iterator[Finding]:
    """Each rule admitting port 22, inline in a group (new or EB's overridden) or a separate ingress."""
    for name, resource in resources.items():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            continue
        separate = isinstance(resource, dict) and resource.get("Type") == "AWS::EC2::SecurityGroupIngress"
        inline = properties.get("SecurityGroupIngress")
        rules = [properties] if separate else inline if isinstance(inline, list) else []
        for rule in rules:
            if isinstance(rule, dict) and _rule_opens_22(rule.get("IpProtocol"), rule.get("FromPort"),
                                                          rule.get("ToPort")):
                line = rule.line if isinstance(rule, LineDict) and not separate else \
                    resources.line_of(name) if isinstance(resources, LineDict) else None
                yield Finding(path, line, W230, f"{name}: an ingress rule admits port 22 (SSH)",
                              f"{INSTEAD} remove the rule")


def _rule_opens_22(protocol: object, low: object, high: object) -> bool:
    """Whether a rule of `protocol` over ports `low`..`high` admits TCP port 22 (-1: every protocol)."""
    if str(protocol).strip().lower() in ("-1", "all"):
        return True
    if str(protocol).strip().lower() not in ("tcp", "6"):
        return False
    try:
        return int(str(low)) <= 22 <= int(str(high))
    except ValueError:  # a function (Ref, a parameter) stands for the port: not judged here
        return False
