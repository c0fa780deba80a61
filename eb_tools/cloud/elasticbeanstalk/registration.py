"""Install the emulation on moto's server: the operations onto moto's EBResponse, AWS-shaped answers throughout.

moto implements only a few EB operations; register() adds the rest that the eb
CLI and eb_tools use and makes any operation still missing answer at once with
an AWS-shaped error, instead of moto's HTML 500, which the eb CLI would retry
for minutes. Every answer carries the request id its events carry.
"""
from __future__ import annotations

import json
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidAction
from eb_tools.cloud.elasticbeanstalk.request_context import current_request_id, serving
from eb_tools.cloud.elasticbeanstalk.responses import ElasticBeanstalkOperations
from eb_tools.cloud.moto_internals import (
    TYPE_RESPONSE,
    ActionResult,
    BaseResponse,
    EBResponse,
    camelcase_to_underscores,
    get_service_model,
    method_names_from_class,
    replace,
)

API_EXTENSIONS = Path(__file__).with_name("api_extensions.json")
METADATA = re.compile(r"(<ResponseMetadata>\s*<RequestId>|</Error>\s*<RequestId>)[^<]*(</RequestId>)")
_moto_call_action = EBResponse.call_action


def _with_request_id(headers: dict[str, Any], body: Any) -> Any:
    request_id = current_request_id()
    headers["x-amzn-requestid"] = request_id
    return METADATA.sub(lambda m: f"{m.group(1)}{request_id}{m.group(2)}", body) if isinstance(body, str) else body


def _enrich_response(headers: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
    """moto's version replaces everything between the first <RequestId> and the last </RequestId>,
    which destroys DescribeEvents (each event has a RequestId) and loses the id events carry."""
    if "status" in headers:
        headers["status"] = str(headers["status"])
    return headers, _with_request_id(headers, body)


def _call_action(self: BaseResponse) -> TYPE_RESPONSE:
    """moto's dispatch, within a request id, and InvalidAction for an operation nobody implements."""
    with serving(str(uuid.uuid4())):
        action = self._get_action()
        if action and camelcase_to_underscores(action) not in method_names_from_class(type(self)):
            error = InvalidAction(f"The local cloud does not emulate ElasticBeanstalk {action} yet.")
            status, headers, body = self.serialized(ActionResult(error))
            headers["status"] = status
            return status, headers, _with_request_id(headers, body)
        return _moto_call_action(self)


def _extend_service_model() -> None:
    """Add EB's members beyond botocore's public model (api_extensions.json) to the model moto reads
    requests and writes answers by (moto caches one model per service: extended once, before any call)."""
    extensions = json.loads(API_EXTENSIONS.read_text())
    shapes = get_service_model("elasticbeanstalk")._service_description["shapes"]
    for name, shape in extensions["shapes"].items():
        shapes.setdefault(name, shape)
    for name, members in extensions["members"].items():
        for member, shape_name in members.items():
            shapes[name]["members"].setdefault(member, {"shape": shape_name})


def register() -> None:
    """Install the operations on moto's EBResponse (idempotent)."""
    if EBResponse.call_action is _call_action:
        return
    _extend_service_model()
    for name, member in vars(ElasticBeanstalkOperations).items():
        if not name.startswith("__"):
            setattr(EBResponse, name, member)
    # moto offers no hook around its dispatch or its response ids: replacing the methods is the extension point.
    replace(EBResponse, "call_action", _call_action)
    replace(EBResponse, "_enrich_response", staticmethod(_enrich_response))
    # EB answers with codes its published model does not list (ConfigurationValidationException...).
    warnings.filterwarnings("ignore", message=r"Exception\(.*\) with code .* does not match an error shape")
