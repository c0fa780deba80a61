"""AWS::SQS::Queue: the worker queue and its dead-letter queue.

moto's Queue model is right for the attributes SQS knows (RedrivePolicy included)
but passes any other template property to the queue unchecked, and keeps
SSE-SQS on when a KMS key is given. The handler lets through only the queue
attributes below, turns SSE-SQS off when KmsMasterKeyId chooses SSE-KMS (as SQS
does), and refuses both at once.
"""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, flag, refuse, tag_dict
from eb_tools.cloud.moto_internals import sqs_backends

QUEUE = "AWS::SQS::Queue"
ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
              "VisibilityTimeout", "RedrivePolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
              "SqsManagedSseEnabled")


class Queue(Handler):
    type_name = QUEUE
    name_property = "QueueName"
    properties = frozenset({"QueueName", "Tags", *ATTRIBUTES})
    attributes = frozenset({"Arn", "QueueName", "QueueUrl"})
    drift_properties = frozenset({"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
                                  "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedrivePolicy"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        attributes = {key: properties[key] for key in ATTRIBUTES if key in properties}
        if "KmsMasterKeyId" in attributes:
            if flag(attributes.get("SqsManagedSseEnabled", False)):
                refuse(QUEUE, "SqsManagedSseEnabled and KmsMasterKeyId choose two encryptions; give one")
            attributes["SqsManagedSseEnabled"] = False
        if isinstance(attributes.get("RedrivePolicy"), dict):
            attributes["RedrivePolicy"] = json.dumps(attributes["RedrivePolicy"])
        queue = place.backend(sqs_backends).create_queue(
            name=name[:80], tags=tag_dict(properties.get("Tags", []), QUEUE), **attributes)
        url = queue.physical_resource_id  # the queue's AWS URL, which Ref returns
        return Resource(cls, url, place, {"Arn": queue.queue_arn, "QueueName": queue.name, "QueueUrl": url},
                        name=queue.name)

    @classmethod
    def actual(cls, resource: Resource) -> dict[str, Any] | None:
        queue = resource.place.backend(sqs_backends).queues.get(resource.state["name"])
        if queue is None:
            return None
        found = {key: value for key, value in queue.attributes.items() if value is not None}
        return {key: json.loads(found[key]) if key == "RedrivePolicy" else found[key]
                for key in cls.drift_properties if key in found}

    @classmethod
    def delete(cls, resource: Resource) -> None:
        backend = resource.place.backend(sqs_backends)
        if resource.state["name"] in backend.queues:
            backend.delete_queue(resource.state["name"])


HANDLERS: tuple[type[Handler], ...] = (Queue,)
