"""AWS::S3::Bucket with every configuration the stage templates set, and AWS::S3::BucketPolicy.

moto's bucket model applies only BucketEncryption (without BucketKeyEnabled) and
Tags, and has no BucketPolicy model at all. These handlers translate each
CloudFormation property into the configuration S3's own Put* operations store,
so GetPublicAccessBlock, GetBucketVersioning, GetBucketLifecycleConfiguration,
GetBucketCors, GetBucketLogging, GetBucketEncryption, GetBucketOwnershipControls
and GetBucketPolicy read back what the template said.
"""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, items, refuse, tag_dict
from eb_tools.cloud.moto_internals import (
    BucketNotEmpty,
    CrossLocationLoggingProhibited,
    InvalidTargetBucketForLogging,
    MissingBucket,
    s3_backends,
)

BUCKET = "AWS::S3::Bucket"


def _backend(place: Place) -> Any:
    return place.global_backend(s3_backends)


def _encryption(config: Any) -> dict[str, Any]:
    rules = items(checked(config, (), BUCKET, "BucketEncryption", required={"ServerSideEncryptionConfiguration"})
                  ["ServerSideEncryptionConfiguration"], BUCKET, "BucketEncryption.ServerSideEncryptionConfiguration")
    if len(rules) != 1:
        refuse(BUCKET, "BucketEncryption needs exactly one ServerSideEncryptionConfiguration rule")
    rule = checked(rules[0], {"ServerSideEncryptionByDefault", "BucketKeyEnabled"}, BUCKET,
                   "BucketEncryption.ServerSideEncryptionConfiguration[]")
    default = checked(rule.get("ServerSideEncryptionByDefault"), {"KMSMasterKeyID"}, BUCKET,
                      "ServerSideEncryptionByDefault", required={"SSEAlgorithm"})
    api_rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["SSEAlgorithm"]}}
    if default.get("KMSMasterKeyID"):
        api_rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["KMSMasterKeyID"]
    if "BucketKeyEnabled" in rule:
        api_rule["BucketKeyEnabled"] = str(flag(rule["BucketKeyEnabled"])).lower()
    return {"Rule": api_rule}


def _public_access_block(config: Any) -> dict[str, Any]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    checked(config, names, BUCKET, "PublicAccessBlockConfiguration")
    return {name: flag(config.get(name, False)) for name in names}


def _lifecycle_rule(rule: Any) -> dict[str, Any]:
    """One CloudFormation lifecycle Rule in the shape S3's PutBucketLifecycleConfiguration stores."""
    checked(rule, {"Id", "Prefix", "ExpirationInDays", "ExpiredObjectDeleteMarker", "NoncurrentVersionExpiration",
                   "NoncurrentVersionExpirationInDays", "Transitions", "NoncurrentVersionTransitions",
                   "AbortIncompleteMultipartUpload"}, BUCKET, "LifecycleConfiguration.Rules[]", required={"Status"})
    for pair in (("ExpirationInDays", "ExpiredObjectDeleteMarker"),
                 ("NoncurrentVersionExpiration", "NoncurrentVersionExpirationInDays")):
        if set(pair) <= set(rule):
            refuse(BUCKET, f"a lifecycle rule takes {pair[0]} or {pair[1]}, not both")
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if rule.get("Id"):
        api["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    elif "ExpiredObjectDeleteMarker" in rule:
        api["Expiration"] = {"ExpiredObjectDeleteMarker": str(flag(rule["ExpiredObjectDeleteMarker"])).lower()}
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if noncurrent is not None:
        days = checked(noncurrent, (), BUCKET, "NoncurrentVersionExpiration", required={"NoncurrentDays"})[
            "NoncurrentDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(rule["NoncurrentVersionExpirationInDays"])}
    transitions = [checked(t, (), BUCKET, "Transitions[]", required={"StorageClass", "TransitionInDays"})
                   for t in items(rule.get("Transitions", []), BUCKET, "Transitions")]
    if transitions:
        api["Transition"] = [{"Days": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
                             for t in transitions]
    old_transitions = [checked(t, {"NewerNoncurrentVersions"}, BUCKET, "NoncurrentVersionTransitions[]",
                               required={"StorageClass", "TransitionInDays"})
                       for t in items(rule.get("NoncurrentVersionTransitions", []), BUCKET,
                                      "NoncurrentVersionTransitions")]
    if old_transitions:
        api["NoncurrentVersionTransition"] = [
            {"NoncurrentDays": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"],
             **({"NewerNoncurrentVersions": str(t["NewerNoncurrentVersions"])}
                if "NewerNoncurrentVersions" in t else {})}
            for t in old_transitions]
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort is not None:
        days = checked(abort, (), BUCKET, "AbortIncompleteMultipartUpload", required={"DaysAfterInitiation"})[
            "DaysAfterInitiation"]
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    return api


def _cors_rule(rule: Any) -> dict[str, Any]:
    checked(rule, {"Id", "AllowedHeaders", "ExposedHeaders", "MaxAge"}, BUCKET, "CorsConfiguration.CorsRules[]",
            required={"AllowedMethods", "AllowedOrigins"})
    api: dict[str, Any] = {"AllowedMethod": list(rule["AllowedMethods"]), "AllowedOrigin": list(rule["AllowedOrigins"])}
    for cfn_name, api_name in (("AllowedHeaders", "AllowedHeader"), ("ExposedHeaders", "ExposeHeader")):
        if rule.get(cfn_name):
            api[api_name] = list(rule[cfn_name])
    if "MaxAge" in rule:
        api["MaxAgeSeconds"] = str(rule["MaxAge"])
    if rule.get("Id"):
        api["ID"] = rule["Id"]
    return api


def _set_logging(backend: Any, bucket: Any, config: Any) -> None:
    """S3 checks that the target bucket exists in the bucket's region; it does not check the log
    delivery permissions (logs simply do not arrive without them), while moto's set_logging does,
    which would fail a template whose logs bucket policy happens to be created after the bucket."""
    checked(config, {"LogFilePrefix"}, BUCKET, "LoggingConfiguration", required={"DestinationBucketName"})
    target = backend.buckets.get(config.get("DestinationBucketName"))
    if target is None:
        raise InvalidTargetBucketForLogging("The target bucket for logging does not exist.")
    if target.region_name != bucket.region_name:
        raise CrossLocationLoggingProhibited()
    bucket.logging = {"TargetBucket": target.name, "TargetPrefix": config.get("LogFilePrefix", "")}


def _configure(backend: Any, name: str, properties: dict[str, Any]) -> None:
    """Apply every configuration property, as the matching S3 Put* operation would."""
    bucket = backend.get_bucket(name)
    if "BucketEncryption" in properties:
        backend.put_bucket_encryption(name, _encryption(properties["BucketEncryption"]))
    if "PublicAccessBlockConfiguration" in properties:
        backend.put_public_access_block(name, _public_access_block(properties["PublicAccessBlockConfiguration"]))
    if "VersioningConfiguration" in properties:
        status = checked(properties["VersioningConfiguration"], (), BUCKET, "VersioningConfiguration",
                         required={"Status"})
        backend.put_bucket_versioning(name, status["Status"])
    if "LifecycleConfiguration" in properties:
        config = checked(properties["LifecycleConfiguration"], (), BUCKET, "LifecycleConfiguration",
                         required={"Rules"})
        backend.put_bucket_lifecycle(name, [_lifecycle_rule(rule) for rule in
                                            items(config["Rules"], BUCKET, "LifecycleConfiguration.Rules")])
    if "CorsConfiguration" in properties:
        config = checked(properties["CorsConfiguration"], (), BUCKET, "CorsConfiguration", required={"CorsRules"})
        backend.put_bucket_cors(name, [_cors_rule(rule) for rule in
                                       items(config["CorsRules"], BUCKET, "CorsConfiguration.CorsRules")])
    if "LoggingConfiguration" in properties:
        _set_logging(backend, bucket, properties["LoggingConfiguration"])
    if "OwnershipControls" in properties:
        rules = items(checked(properties["OwnershipControls"], (), BUCKET, "OwnershipControls", required={"Rules"})[
                          "Rules"],
                      BUCKET, "OwnershipControls.Rules")
        if len(rules) != 1:
            refuse(BUCKET, "OwnershipControls needs exactly one rule")
        ownership = checked(rules[0], (), BUCKET, "OwnershipControls.Rules[]", required={"ObjectOwnership"})[
            "ObjectOwnership"]
        backend.put_bucket_ownership_controls(name, ownership)
    if "Tags" in properties:
        backend.put_bucket_tagging(name, tag_dict(properties["Tags"], BUCKET))


class Bucket(Handler):
    type_name = BUCKET
    name_property = "BucketName"
    properties = frozenset({"BucketName", "BucketEncryption", "PublicAccessBlockConfiguration",
                            "VersioningConfiguration", "LifecycleConfiguration", "CorsConfiguration",
                            "LoggingConfiguration", "OwnershipControls", "Tags"})
    attributes = frozenset({"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        backend = _backend(place)
        bucket = backend.create_bucket(name, place.region)
        try:
            _configure(backend, name, properties)
        except Exception:
            backend.delete_bucket(name)  # as CloudFormation, leave no half-configured bucket behind
            raise
        return Resource(cls, name, place, {
            "Arn": bucket.arn, "DomainName": bucket.domain_name,
            "RegionalDomainName": bucket.regional_domain_name, "DualStackDomainName": bucket.dual_stack_domain_name},
            properties=properties)

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        """In place when the name stays: each configuration is a Put of the whole setting. Taking a
        configuration away would need its Delete, which the local cloud does not do: refused."""
        if properties.get("BucketName", resource.physical_resource_id) != resource.physical_resource_id:
            refuse(BUCKET, "changing BucketName replaces the bucket, which the local cloud does not do")
        removed = sorted(set(resource.state["properties"]) - set(properties))
        if removed:
            refuse(BUCKET, f"the local cloud does not remove {', '.join(removed)} from a bucket in place")
        _configure(_backend(resource.place), resource.physical_resource_id, properties)
        resource.state["properties"] = properties
        return resource

    @classmethod
    def delete(cls, resource: Resource) -> None:
        """As CloudFormation: a bucket that still holds objects is not deleted and the delete fails."""
        backend = _backend(resource.place)
        if resource.physical_resource_id in backend.buckets and not backend.delete_bucket(
                resource.physical_resource_id):
            raise BucketNotEmpty(resource.physical_resource_id)


class BucketPolicy(Handler):
    type_name = "AWS::S3::BucketPolicy"
    properties = frozenset({"Bucket", "PolicyDocument"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        bucket = cls.required(properties, "Bucket")
        document = cls.required(properties, "PolicyDocument")
        text = document if isinstance(document, str) else json.dumps(document)
        backend = _backend(place)
        if bucket not in backend.buckets:
            raise MissingBucket(bucket=bucket)
        backend.put_bucket_policy(bucket, text.encode())
        return Resource(cls, bucket, place)

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        if properties.get("Bucket") != resource.physical_resource_id:
            refuse(cls.type_name, "changing Bucket replaces the policy, which the local cloud does not do")
        cls.create(name, properties, resource.place)
        return resource

    @classmethod
    def delete(cls, resource: Resource) -> None:
        backend = _backend(resource.place)
        if resource.physical_resource_id in backend.buckets:
            backend.delete_bucket_policy(resource.physical_resource_id)


HANDLERS: tuple[type[Handler], ...] = (Bucket, BucketPolicy)
