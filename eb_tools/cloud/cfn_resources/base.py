"""What every resource type of the local cloud's CloudFormation shares.

moto's CloudFormation drops what it has no code for: a type without a model is
skipped, a property nobody reads is ignored, and the stack still reaches
CREATE_COMPLETE. A Handler names the properties it applies and refuses any
other, so a template either gets exactly what it asked for or its resource fails
with an AWS-shaped error. A Resource is what the stack then holds: the physical
id that Ref returns and the attributes Fn::GetAtt reads.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from eb_tools.cloud.moto_internals import ServiceException, UnformattedGetAttTemplateException, get_partition


class Refused(ServiceException):
    """A template asks for something the local cloud does not apply: the resource fails rather than
    being made without it. Named as CloudFormation names a template it cannot honour."""

    code = "ValidationError"


def refuse(resource_type: str, what: str) -> NoReturn:
    raise Refused(f"{resource_type}: {what}. The local cloud refuses the resource rather than ignore it.")


def checked(value: Any, supported: Collection[str], resource_type: str, path: str,
            required: Collection[str] = ()) -> dict[str, Any]:
    """`value` as a mapping whose keys are all in `supported` or `required`, and that has every `required`
    one; anything else refuses the resource (as CloudFormation's validation does for missing ones)."""
    if not isinstance(value, dict):
        refuse(resource_type, f"{path} must be an object, not {value!r}")
    unknown = sorted(set(value) - set(supported) - set(required))
    if unknown:
        names = ", ".join(f"{path}.{key}" if path else key for key in unknown)
        refuse(resource_type, f"Encountered unsupported property {names}")
    for key in required:
        if value.get(key) in (None, ""):
            refuse(resource_type, f"Property {path}.{key} cannot be empty")
    return value


def items(value: Any, resource_type: str, path: str) -> list[Any]:
    """`value` as a list (CloudFormation's list properties), else the resource is refused."""
    if not isinstance(value, list):
        refuse(resource_type, f"{path} must be a list, not {value!r}")
    return value


def flag(value: Any) -> bool:
    """A CloudFormation Boolean, which templates may write as true or "true"."""
    return value is True or str(value).lower() == "true"


def tag_dict(tags: Any, resource_type: str) -> dict[str, str]:
    """CloudFormation's Tags list ([{Key, Value}]) as a dict."""
    result = {}
    for tag in items(tags, resource_type, "Tags"):
        checked(tag, {"Value"}, resource_type, "Tags[]", required={"Key"})
        result[str(tag["Key"])] = str(tag.get("Value", ""))
    return result


@dataclass(frozen=True)
class Place:
    """The account and region a stack creates its resources in."""

    account_id: str
    region: str

    @property
    def partition(self) -> str:
        return get_partition(self.region)

    def backend(self, backends: Any) -> Any:
        """The regional backend of a moto BackendDict (S3 and IAM are per partition: see `global_backend`)."""
        return backends[self.account_id][self.region]

    def global_backend(self, backends: Any) -> Any:
        return backends[self.account_id][self.partition]


class Resource:
    """A created resource as the stack holds it. An attribute may be a callable, for a value looked up
    only when GetAtt asks (a VPC's default security group); `state` is what delete and update need."""

    def __init__(self, handler: type[Handler], physical_id: str, place: Place,
                 attributes: Mapping[str, Any] | None = None, **state: Any) -> None:
        self.handler = handler
        self.physical_resource_id = physical_id
        self.place = place
        self.attributes = dict(attributes or {})
        self.state = state

    def get_cfn_attribute(self, name: str) -> Any:
        if name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        value = self.attributes[name]
        return value() if callable(value) else value

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """Called by moto when the stack deletes or replaces the resource."""
        self.handler.delete(self)

    def delete_with_final_snapshot(self, snapshot: str) -> None:
        """Called by a stack deleting or replacing the resource under a Snapshot policy (cfn_stacks)."""
        self.handler.delete_with_final_snapshot(self, snapshot)


class Handler:
    """One CloudFormation type: the properties it applies and how to create, update and delete it.

    moto's parsing calls the class methods below by these names (its CloudFormationModel
    interface); subclasses implement create, delete and, where an in-place update is simple,
    update.
    """

    type_name: ClassVar[str]
    name_property: ClassVar[str] = ""
    properties: ClassVar[frozenset[str]] = frozenset()
    attributes: ClassVar[frozenset[str]] = frozenset()
    # The properties drift detection compares (cfn_stacks/drift.py): those `actual` reads back. A type with
    # none is not checked, as CloudFormation leaves out a type that does not support drift detection.
    drift_properties: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.type_name

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Resource:
        properties = checked(cloudformation_json.get("Properties") or {}, cls.properties, cls.type_name, "")
        return cls.create(resource_name, properties, Place(account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Resource, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> Resource:
        properties = checked(cloudformation_json.get("Properties") or {}, cls.properties, cls.type_name, "")
        return cls.update(original_resource, new_resource_name, properties)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        raise NotImplementedError

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        refuse(cls.type_name, "the local cloud does not update this type in place; delete and create the stack")

    @classmethod
    def delete(cls, resource: Resource) -> None:
        raise NotImplementedError

    @classmethod
    def actual(cls, resource: Resource) -> dict[str, Any] | None:
        """The resource's `drift_properties` as the service has them now; None when it is gone."""
        raise NotImplementedError

    @classmethod
    def delete_with_final_snapshot(cls, resource: Resource, snapshot: str) -> None:
        """Take final snapshot `snapshot`, then delete; a type the local cloud takes none of is just deleted
        (ElastiCache: the README says so)."""
        cls.delete(resource)

    @classmethod
    def required(cls, properties: Mapping[str, Any], name: str) -> Any:
        """A required property, refused by name when missing, as CloudFormation's validation does."""
        if properties.get(name) in (None, ""):
            refuse(cls.type_name, f"Property {name} cannot be empty")
        return properties[name]

