"""What a signed request asks IAM for: its action (`prefix:Operation`) and the resources it names.

AWS authorizes each API call as one action on the resources the call names, by the
Service Authorization Reference ("Actions, resources, and condition keys for ..."):
Elastic Beanstalk judges environments as environment/APPLICATION/ENVIRONMENT,
versions as applicationversion/APPLICATION/LABEL, applications as
application/APPLICATION (Elastic Beanstalk Developer Guide, "Amazon resource name
format for Elastic Beanstalk"); CloudFormation a stack as stack/NAME/ID; S3 a
bucket as arn:aws:s3:::BUCKET and an object as arn:aws:s3:::BUCKET/KEY; CloudWatch
Logs a group as log-group:NAME:*; SESv2 an identity as identity/NAME. A call that
names none of these (a listing, CreateStorageLocation, GetAccount) is judged on
"*". A stack called by name is judged as stack/NAME/* (its id is what AWS adds;
policies scope stacks by name); a change set called by its ARN alone on its stack
(the change-set actions take the stack resource, the change set's name being the
condition key cloudformation:ChangeSetName: Service Authorization Reference,
"Actions, resources, and condition keys for AWS CloudFormation"). The operation comes from the request as botocore
sends it: X-Amz-Target (JSON protocols), Action (query protocols), the method and
path (S3, SESv2's REST API); a REST operation of another service is named by its
method and path, so a policy cannot grant it and the refusal says so.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from eb_tools.cloud.s3_bucket_policy import bucket_action, object_action

# Signing names whose IAM service prefix differs (CloudWatch signs as monitoring, SESv2 as ses).
PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}
# Calls AWS answers without any permission (STS API reference, GetCallerIdentity: "No permissions are
# required to perform this operation").
UNJUDGED = {"sts:GetCallerIdentity"}
IAM_RESOURCES = (("RoleName", "role"), ("UserName", "user"), ("InstanceProfileName", "instance-profile"))
SES_ROUTES = (("GET", re.compile(r"/v2/email/account$"), "GetAccount", None),
              ("GET", re.compile(r"/v2/email/identities/(?P<name>[^/]+)$"), "GetEmailIdentity", "identity"))


@dataclass(frozen=True)
class Lookups:
    """What AWS knows of a resource a call names by another's name: an EB environment's application ("*" for
    none), a change set's stack (its ARN, None for none)."""

    application_of: Callable[[str], str]
    stack_of: Callable[[str], str | None]


@dataclass(frozen=True)
class Asked:
    """One request as IAM sees it: `action` on every resource of `resources`."""

    action: str
    resources: tuple[str, ...]
    protocol: str  # how a refusal is answered: "query", "json", "s3" or "rest-json"


def credential(environ: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(access key, region, signing name) of a SigV4-signed request (header or presigned URL); None unsigned."""
    found = re.search(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request",
                      environ.get("HTTP_AUTHORIZATION", ""))
    if found is None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        parts = unquote(query.get("X-Amz-Credential", [""])[0]).split("/")
        return (parts[0], parts[2], parts[3]) if len(parts) == 5 else None
    return found.group(1), found.group(2), found.group(3)


def asked(environ: Mapping[str, Any], body: bytes, service: str, region: str, account: str,
          lookups: Lookups) -> Asked:
    """The action and resources of a request signed for `service` in `region`, made in `account`."""
    prefix = PREFIXES.get(service, service)
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if prefix == "s3":
        return _s3(method, path, query)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        fields = json.loads(body or b"{}")
        operation = target.rsplit(".", 1)[-1]
        return Asked(f"{prefix}:{operation}", _json_resources(prefix, fields, region, account), "json")
    params = {k: v[-1] for k, v in {**query, **parse_qs(body.decode(errors="replace"))}.items()}
    if "Action" in params:
        arn = f"arn:aws:{prefix}:{region}:{account}:"
        if prefix == "elasticbeanstalk":
            return Asked(f"{prefix}:{params['Action']}", _beanstalk(params, arn, lookups.application_of), "query")
        if prefix == "cloudformation":
            return Asked(f"{prefix}:{params['Action']}", _stack(params, arn, lookups.stack_of), "query")
        return Asked(f"{prefix}:{params['Action']}", _query_resources(prefix, params, arn), "query")
    return _rest(prefix, method, path, region, account)


def _s3(method: str, path: str, query: Mapping[str, Any]) -> Asked:
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return Asked("s3:ListAllMyBuckets", ("*",), "s3")
    if key:
        return Asked(object_action(method, query), (f"arn:aws:s3:::{bucket}/{unquote(key)}",), "s3")
    return Asked(bucket_action(method, query), (f"arn:aws:s3:::{bucket}",), "s3")


def _json_resources(prefix: str, fields: Mapping[str, Any], region: str, account: str) -> tuple[str, ...]:
    if prefix == "logs" and fields.get("logGroupName"):
        return (f"arn:aws:logs:{region}:{account}:log-group:{fields['logGroupName']}:*",)
    if prefix == "logs":
        return (f"arn:aws:logs:{region}:{account}:log-group:*",)
    return ("*",)


def _members(params: Mapping[str, str], name: str) -> list[str]:
    """A query-protocol list parameter's values (Name.member.1, Name.member.2, ...)."""
    return [value for key, value in sorted(params.items()) if key.startswith(f"{name}.member.")]


def _query_resources(prefix: str, params: Mapping[str, str], arn: str) -> tuple[str, ...]:
    if prefix == "iam":
        account = arn.split(":")[4]
        for parameter, kind in IAM_RESOURCES:
            if params.get(parameter):
                return (f"arn:aws:iam::{account}:{kind}/{params[parameter]}",)
    return ("*",)


def _stack(params: Mapping[str, str], arn: str, stack_of: Callable[[str], str | None]) -> tuple[str, ...]:
    """The stack a call names, by name or ARN, or by the ARN of its change set; else "*"."""
    name = params.get("StackName") or ""
    if not name and params.get("ChangeSetName", "").startswith("arn:"):
        name = stack_of(params["ChangeSetName"]) or ""
    if not name:
        return ("*",)
    return (name if name.startswith("arn:") else f"{arn}stack/{name}/*",)


def _beanstalk(params: Mapping[str, str], arn: str, application_of: Callable[[str], str]) -> tuple[str, ...]:
    """The environments a call names, else its versions, else its applications, else "*"."""
    application = params.get("ApplicationName", "*")
    environments = [params[k] for k in ("EnvironmentName", "SourceEnvironmentName", "DestinationEnvironmentName")
                    if params.get(k)] + _members(params, "EnvironmentNames")
    if environments:
        return tuple(f"{arn}environment/{params.get('ApplicationName') or application_of(name)}/{name}"
                     for name in environments)
    labels = [params[k] for k in ("VersionLabel",) if params.get(k)] + _members(params, "VersionLabels")
    if labels and application != "*":
        return tuple(f"{arn}applicationversion/{application}/{label}" for label in labels)
    applications = ([application] if application != "*" else []) + _members(params, "ApplicationNames")
    return tuple(f"{arn}application/{name}" for name in applications) or ("*",)


def _rest(prefix: str, method: str, path: str, region: str, account: str) -> Asked:
    if prefix == "ses":
        for verb, route, operation, kind in SES_ROUTES:
            found = route.match(path)
            if verb == method and found:
                resource = f"arn:aws:ses:{region}:{account}:{kind}/{unquote(found['name'])}" if kind else "*"
                return Asked(f"ses:{operation}", (resource,), "rest-json")
    return Asked(f"{prefix}:{method} {path}", ("*",), "rest-json")
