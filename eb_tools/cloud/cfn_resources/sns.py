"""AWS::SNS::Topic and AWS::SNS::Subscription, the alarm topic and its e-mail subscriber.

moto's Topic model hands every template property to the topic as an attribute
(Tags, Subscription and typos alike) and has no Subscription model. The handlers
apply the properties SNS knows and refuse the rest; an e-mail subscription stays
PendingConfirmation, as in SNS until the recipient confirms it.
"""
from __future__ import annotations

from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, items, tag_dict
from eb_tools.cloud.moto_internals import sns_backends

TOPIC = "AWS::SNS::Topic"
CONFIRMED_BY_RECIPIENT = ("email", "email-json")


def _backend(place: Place) -> Any:
    return place.backend(sns_backends)


def subscribe(place: Place, topic_arn: str, protocol: str, endpoint: str) -> Any:
    subscription = _backend(place).subscribe(topic_arn, endpoint, protocol)
    if protocol in CONFIRMED_BY_RECIPIENT:
        subscription.attributes["PendingConfirmation"] = True
    return subscription


class Topic(Handler):
    type_name = TOPIC
    name_property = "TopicName"
    properties = frozenset({"TopicName", "DisplayName", "KmsMasterKeyId", "Subscription", "Tags"})
    attributes = frozenset({"TopicArn", "TopicName"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        attributes = {key: str(properties[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in properties}
        topic = _backend(place).create_topic(name, attributes, tag_dict(properties.get("Tags", []), TOPIC))
        for entry in items(properties.get("Subscription", []), TOPIC, "Subscription"):
            checked(entry, (), TOPIC, "Subscription[]", required={"Endpoint", "Protocol"})
            subscribe(place, topic.arn, entry["Protocol"], entry["Endpoint"])
        return Resource(cls, topic.arn, place, {"TopicArn": topic.arn, "TopicName": topic.name})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).delete_topic(resource.physical_resource_id)


class Subscription(Handler):
    type_name = "AWS::SNS::Subscription"
    properties = frozenset({"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        subscription = subscribe(place, cls.required(properties, "TopicArn"), cls.required(properties, "Protocol"),
                                 cls.required(properties, "Endpoint"))
        if "RawMessageDelivery" in properties:
            _backend(place).set_subscription_attributes(
                subscription.arn, "RawMessageDelivery", str(flag(properties["RawMessageDelivery"])).lower())
        return Resource(cls, subscription.arn, place)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).unsubscribe(resource.physical_resource_id)


HANDLERS: tuple[type[Handler], ...] = (Topic, Subscription)
