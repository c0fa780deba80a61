"""AWS::SecretsManager::Secret and ::SecretTargetAttachment, which moto's CloudFormation skips (no secret,
Ref to nothing).

The secret is created in moto's Secrets Manager backend with the value
GenerateSecretString describes (moto's own GetRandomPassword generator, with AWS's
defaults: 32 characters, each included type required), or with SecretString; Ref
and GetAtt Id are its ARN, as in AWS.

An attachment adds its DB instance's connection details to the secret's JSON with a PutSecretValue (a new
AWSCURRENT version), and takes them out again when it is removed (CloudFormation template reference,
SecretTargetAttachment): engine, host, port and dbInstanceIdentifier, what a rotation function reads ("JSON
structure of Secrets Manager secrets"). A secret takes one target: a second is refused with AWS's words
("Secret is already attached to a target.", aws/aws-cdk#11040).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Refused, Resource, checked, flag, refuse, tag_dict
from eb_tools.cloud.moto_internals import random_password, rds_backends, secretsmanager_backends

SECRET = "AWS::SecretsManager::Secret"
GENERATE_OPTIONS = frozenset({"ExcludeCharacters", "ExcludeLowercase", "ExcludeNumbers", "ExcludePunctuation",
                              "ExcludeUppercase", "GenerateStringKey", "IncludeSpace", "PasswordLength",
                              "RequireEachIncludedType", "SecretStringTemplate"})


def generated_string(options: Any) -> str:
    """The secret string GenerateSecretString describes: a password, or a JSON template with the
    password under GenerateStringKey."""
    checked(options, GENERATE_OPTIONS, SECRET, "GenerateSecretString")
    password = random_password(
        password_length=int(options.get("PasswordLength", 32)),
        exclude_characters=str(options.get("ExcludeCharacters", "")),
        exclude_numbers=flag(options.get("ExcludeNumbers", False)),
        exclude_punctuation=flag(options.get("ExcludePunctuation", False)),
        exclude_uppercase=flag(options.get("ExcludeUppercase", False)),
        exclude_lowercase=flag(options.get("ExcludeLowercase", False)),
        include_space=flag(options.get("IncludeSpace", False)),
        require_each_included_type=flag(options.get("RequireEachIncludedType", True)),
    )
    template, key = options.get("SecretStringTemplate"), options.get("GenerateStringKey")
    if (template is None) != (key is None):
        refuse(SECRET, "GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither")
    if template is None:
        return password
    try:
        document = json.loads(template)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        refuse(SECRET, "GenerateSecretString.SecretStringTemplate must be a JSON object")
    document[key] = password
    return json.dumps(document)


class Secret(Handler):
    type_name = SECRET
    name_property = "Name"
    properties = frozenset({"Name", "Description", "GenerateSecretString", "SecretString", "KmsKeyId", "Tags"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        if ("SecretString" in properties) == ("GenerateSecretString" in properties):
            refuse(SECRET, "exactly one of SecretString and GenerateSecretString is required")
        value = properties.get("SecretString")
        if value is None:
            value = generated_string(properties["GenerateSecretString"])
        tags = tag_dict(properties.get("Tags", []), SECRET)
        backend = place.backend(secretsmanager_backends)
        backend.create_secret(
            name=name, secret_string=value, secret_binary=None, description=properties.get("Description"),
            tags=[{"Key": k, "Value": v} for k, v in tags.items()] or None, kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None, replica_regions=[], force_overwrite=False)
        arn = backend.describe_secret(name).arn
        return Resource(cls, arn, place, {"Id": arn})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """Without a recovery window, so the stack can be created again with the same secret name."""
        resource.place.backend(secretsmanager_backends).delete_secret(
            resource.physical_resource_id, recovery_window_in_days=None, force_delete_without_recovery=True)


ATTACHMENT = "AWS::SecretsManager::SecretTargetAttachment"
CONNECTION = ("engine", "host", "port", "dbInstanceIdentifier")


class SecretTargetAttachment(Handler):
    type_name = ATTACHMENT
    properties = frozenset({"SecretId", "TargetId", "TargetType"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        if cls.required(properties, "TargetType") != "AWS::RDS::DBInstance":
            refuse(ATTACHMENT, f"TargetType {properties['TargetType']} is not emulated: only AWS::RDS::DBInstance")
        backend = place.backend(secretsmanager_backends)
        secret = backend.describe_secret(cls.required(properties, "SecretId"))
        target = str(cls.required(properties, "TargetId"))
        if getattr(secret, "local_target", None) not in (None, target):
            raise Refused("Secret is already attached to a target.")
        database = place.backend(rds_backends).databases.get(target)
        if database is None:
            raise Refused(f"DB instance {target} not found")
        _put(backend, secret.arn, lambda values: values | {
            "engine": database.engine, "host": database.address, "port": int(database.port),
            "dbInstanceIdentifier": target})
        secret.local_target = target
        return Resource(cls, secret.arn, place, {"Id": secret.arn})

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        """Another target: the details of the new one replace the old one's."""
        cls.delete(resource)
        return cls.create(name, properties, resource.place)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        backend = resource.place.backend(secretsmanager_backends)
        secret = backend.secrets.get(resource.physical_resource_id)
        if secret is None or secret.is_deleted():
            return
        _put(backend, secret.arn, lambda values: {k: v for k, v in values.items() if k not in CONNECTION})
        secret.local_target = None


def _put(backend: Any, arn: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """PutSecretValue of the current JSON, changed."""
    values = json.loads(backend.get_secret_value(arn, None, "AWSCURRENT")["SecretString"])
    if not isinstance(values, dict):
        raise Refused(f"The secret {arn} is not a JSON object: no connection details can be added to it")
    backend.put_secret_value(secret_id=arn, secret_string=json.dumps(change(values)), secret_binary=None,
                             client_request_token=None, version_stages=["AWSCURRENT"])


HANDLERS: tuple[type[Handler], ...] = (Secret, SecretTargetAttachment)
