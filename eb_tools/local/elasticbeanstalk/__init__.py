"""The Elastic Beanstalk emulation: an extension of moto's EB service, registered on its server.

moto implements only a few EB operations; register() adds the rest that the eb
CLI and eb_tools use (the operations of ElasticBeanstalkOperations) and makes
any operation still missing answer at once with an AWS-shaped error, instead of
moto's HTML 500, which the eb CLI would retry for minutes.
"""
from __future__ import annotations

import inspect
import re
import uuid
import warnings

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores, method_names_from_class
from moto.elasticbeanstalk.responses import EBResponse

from eb_tools.local.elasticbeanstalk.models import REQUEST, LocalEBBackend
from eb_tools.local.elasticbeanstalk.responses import ElasticBeanstalkOperations

__all__ = ["register", "LocalEBBackend"]


class InvalidAction(ServiceException):
    code = "InvalidAction"


METADATA = re.compile(r"(<ResponseMetadata>\s*<RequestId>|</Error>\s*<RequestId>)[^<]*(</RequestId>)")


def _with_request_id(headers: dict, body: str) -> str:
    request_id = getattr(REQUEST, "id", None) or str(uuid.uuid4())
    headers["x-amzn-requestid"] = request_id
    return METADATA.sub(lambda m: f"{m.group(1)}{request_id}{m.group(2)}", body) if isinstance(body, str) else body


def _with_request_id_headers(headers: dict, body: str) -> tuple[dict, str]:
    if "status" in headers:
        headers["status"] = str(headers["status"])
    return headers, _with_request_id(headers, body)


def register() -> None:
    """Install the operations on moto's EBResponse (idempotent)."""
    if getattr(EBResponse, "_eb_tools_registered", False):
        return
    for name, member in inspect.getmembers(ElasticBeanstalkOperations):
        if not name.startswith("__"):
            setattr(EBResponse, name, member)
    original = EBResponse.call_action

    def call_action(self: EBResponse):  # type: ignore[no-untyped-def]
        REQUEST.id = str(uuid.uuid4())  # the id events carry and ResponseMetadata reports
        action = self._get_action()
        if action and camelcase_to_underscores(action) not in method_names_from_class(type(self)):
            error = InvalidAction(f"The local cloud does not emulate ElasticBeanstalk {action} yet.")
            status, headers, body = self.serialized(ActionResult(error))
            headers["status"] = status
            return status, headers, _with_request_id(headers, body)
        return original(self)

    EBResponse.call_action = call_action  # type: ignore[method-assign]
    # moto's version replaces everything between the first <RequestId> and the last </RequestId>,
    # which destroys DescribeEvents (each event has a RequestId) and loses the id events carry.
    EBResponse._enrich_response = staticmethod(_with_request_id_headers)  # type: ignore[method-assign]
    # EB answers with codes its published model does not list (ConfigurationValidationException...).
    warnings.filterwarnings("ignore", message=r"Exception\(.*\) with code .* does not match an error shape")
    EBResponse._eb_tools_registered = True  # type: ignore[attr-defined]
