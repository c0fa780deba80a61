"""CloudFormation dynamic references to Secrets Manager, which moto leaves as literal text.

`{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`
(every part after secret-id optional; secret-id a name or a full ARN) is replaced
by the secret's value, as CloudFormation does when it creates the resource, so an
ElastiCache AuthToken taken from a generated secret is the secret's value and not
the reference's text. Other dynamic references (ssm, ssm-secure) are refused
rather than passed through as text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from eb_tools.cloud.cfn_resources.base import Place, Refused
from eb_tools.cloud.moto_internals import resource_map_place, secretsmanager_backends

REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):([^}]*)\}\}")
ARN_PARTS = 7  # arn:aws:secretsmanager:region:account:secret:name-suffix


def secret_value(reference: str, place: Place) -> str:
    """The value a `secretsmanager` dynamic reference (the text after `resolve:secretsmanager:`) names."""
    parts = reference.split(":")
    count = ARN_PARTS if parts[0] == "arn" else 1
    secret_id, rest = ":".join(parts[:count]), parts[count:]
    value_type, json_key, stage, version = (rest + ["", "", "", ""])[:4]
    if value_type not in ("", "SecretString"):
        raise Refused(f"Dynamic reference {{{{resolve:secretsmanager:{reference}}}}}: "
                      f"only SecretString can be referenced, not {value_type}")
    secret = place.backend(secretsmanager_backends).get_secret_value(secret_id, version or None, stage or None)
    text: str = secret["SecretString"]
    if not json_key:
        return text
    try:
        return str(json.loads(text)[json_key])
    except (ValueError, KeyError, TypeError):
        raise Refused(f"Could not find key {json_key} in the SecretString of secret {secret_id}") from None


def _resolve(match: re.Match[str], place: Place) -> str:
    service, reference = match.group(1), match.group(2)
    if "${" in reference:
        return match.group(0)  # a Fn::Sub template before substitution: resolved once substituted
    if service != "secretsmanager":
        raise Refused(f"The local cloud resolves only secretsmanager dynamic references, not {match.group(0)}")
    return secret_value(reference, place)


def resolving(clean_json: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """moto's clean_json (which evaluates intrinsic functions, recursively through the module-level
    name) followed by the resolution of the dynamic references left in the strings it returns."""

    def clean_json_resolving(resource_json: Any, resources_map: Any) -> Any:
        value = clean_json(resource_json, resources_map)
        if isinstance(value, str) and "{{resolve:" in value:
            place = Place(*resource_map_place(resources_map))
            return REFERENCE.sub(lambda match: _resolve(match, place), value)
        return value

    return clean_json_resolving
