"""AWS::CloudFront::OriginAccessControl and AWS::CloudFront::Distribution, which moto's
CloudFormation skips (no distribution, Ref and GetAtt DomainName give nothing).

The handlers translate the CloudFormation shapes (plain lists, AcmCertificateArn,
IPV6Enabled) into the CreateDistribution and CreateOriginAccessControl shapes
(Quantity/Items, ACMCertificateArn, IsIPV6Enabled) and create through moto's
CloudFront backend, so GetDistribution and GetOriginAccessControl read them back.
moto's origin model drops OriginAccessControlId, which is put back on the origin;
an origin naming a missing OAC, or a certificate that is not an ACM certificate
in us-east-1, fails as in CloudFront.
"""
from __future__ import annotations

import uuid
from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, items, refuse, tag_dict
from eb_tools.cloud.moto_internals import CloudFrontException, acm_backends, cloudfront_backends

DISTRIBUTION = "AWS::CloudFront::Distribution"
CERTIFICATE_REGION = "us-east-1"  # CloudFront takes ACM certificates from this region only
BEHAVIOR = frozenset({"TargetOriginId", "ViewerProtocolPolicy", "Compress", "CachePolicyId", "OriginRequestPolicyId",
                      "ResponseHeadersPolicyId", "AllowedMethods", "CachedMethods"})


def _backend(place: Place) -> Any:
    return place.global_backend(cloudfront_backends)


def _list(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


class OriginAccessControl(Handler):
    type_name = "AWS::CloudFront::OriginAccessControl"
    properties = frozenset({"OriginAccessControlConfig"})
    attributes = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        config = checked(cls.required(properties, "OriginAccessControlConfig"),
                         {"Name", "Description", "OriginAccessControlOriginType", "SigningBehavior",
                          "SigningProtocol"}, cls.type_name, "OriginAccessControlConfig")
        for key in ("Name", "OriginAccessControlOriginType", "SigningBehavior", "SigningProtocol"):
            if not config.get(key):
                refuse(cls.type_name, f"Property OriginAccessControlConfig.{key} cannot be empty")
        control = _backend(place).create_origin_access_control(config)
        return Resource(cls, control.id, place, {"Id": control.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).origin_access_controls.pop(resource.physical_resource_id, None)


def _origin(origin: Any, backend: Any) -> dict[str, Any]:
    checked(origin, {"OriginPath", "S3OriginConfig", "OriginAccessControlId"}, DISTRIBUTION,
            "DistributionConfig.Origins[]", required={"Id", "DomainName"})
    api: dict[str, Any] = {"Id": origin["Id"], "DomainName": origin["DomainName"],
                           "OriginPath": origin.get("OriginPath", "")}
    if "S3OriginConfig" in origin:
        s3 = checked(origin["S3OriginConfig"], {"OriginAccessIdentity"}, DISTRIBUTION, "Origins[].S3OriginConfig")
        api["S3OriginConfig"] = {"OriginAccessIdentity": s3.get("OriginAccessIdentity", "")}
    if origin.get("OriginAccessControlId"):
        backend.get_origin_access_control(origin["OriginAccessControlId"])  # NoSuchOriginAccessControl
        api["OriginAccessControlId"] = origin["OriginAccessControlId"]
    return api


def _behavior(behavior: Any, path: str, extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    checked(behavior, BEHAVIOR, DISTRIBUTION, path, required={"TargetOriginId", "ViewerProtocolPolicy", *extra})
    if not behavior.get("CachePolicyId"):
        refuse(DISTRIBUTION, f"{path}.CachePolicyId is required: the local cloud does not apply the legacy "
                             "ForwardedValues settings")
    api = {key: behavior[key] for key in BEHAVIOR - {"Compress", "AllowedMethods", "CachedMethods"} if key in behavior}
    api["Compress"] = flag(behavior.get("Compress", False))
    allowed = items(behavior.get("AllowedMethods", ["GET", "HEAD"]), DISTRIBUTION, f"{path}.AllowedMethods")
    cached = items(behavior.get("CachedMethods", ["GET", "HEAD"]), DISTRIBUTION, f"{path}.CachedMethods")
    api["AllowedMethods"] = {**_list(allowed), "CachedMethods": _list(cached)}
    return api


def _viewer_certificate(config: Any, place: Place) -> dict[str, Any]:
    checked(config, {"AcmCertificateArn", "CloudFrontDefaultCertificate", "MinimumProtocolVersion",
                     "SslSupportMethod"}, DISTRIBUTION, "DistributionConfig.ViewerCertificate")
    api: dict[str, Any] = {"CloudFrontDefaultCertificate": flag(config.get("CloudFrontDefaultCertificate", False))}
    arn = config.get("AcmCertificateArn")
    if arn:
        region = arn.split(":")[3] if arn.count(":") >= 5 else ""
        try:
            if region != CERTIFICATE_REGION:
                raise LookupError(region)
            acm_backends[place.account_id][CERTIFICATE_REGION].get_certificate(arn)
        except Exception:
            raise CloudFrontException(
                "InvalidViewerCertificate", "The specified SSL certificate doesn't exist, isn't in us-east-1 region, "
                "isn't valid, or doesn't include a valid certificate chain.") from None
        api["ACMCertificateArn"] = arn
    for cfn_key, api_key in (("MinimumProtocolVersion", "MinimumProtocolVersion"),
                             ("SslSupportMethod", "SSLSupportMethod")):
        if cfn_key in config:
            api[api_key] = config[cfn_key]
    return api


def distribution_config(config: Any, place: Place) -> dict[str, Any]:
    """CloudFormation's DistributionConfig in the shape of CloudFront's CreateDistribution."""
    checked(config, {"Aliases", "CacheBehaviors", "Comment", "DefaultCacheBehavior", "DefaultRootObject", "Enabled",
                     "HttpVersion", "IPV6Enabled", "Logging", "Origins", "PriceClass", "ViewerCertificate"},
            DISTRIBUTION, "DistributionConfig")
    backend = _backend(place)
    origins = [_origin(origin, backend) for origin in items(config.get("Origins"), DISTRIBUTION, "Origins")]
    if not origins:
        refuse(DISTRIBUTION, "DistributionConfig.Origins needs at least one origin")
    behaviors = [_behavior(b, "CacheBehaviors[]", frozenset({"PathPattern"}))
                 for b in items(config.get("CacheBehaviors", []), DISTRIBUTION, "CacheBehaviors")]
    for behavior, source in zip(behaviors, config.get("CacheBehaviors", []), strict=True):
        behavior["PathPattern"] = source["PathPattern"]
    api: dict[str, Any] = {
        "CallerReference": str(uuid.uuid4()), "Comment": config.get("Comment", ""),
        "Enabled": flag(config.get("Enabled", False)), "Origins": _list(origins),
        "DefaultCacheBehavior": _behavior(config.get("DefaultCacheBehavior"), "DefaultCacheBehavior"),
        "CacheBehaviors": _list(behaviors),
        "Aliases": _list(items(config.get("Aliases", []), DISTRIBUTION, "Aliases")),
        "PriceClass": config.get("PriceClass", "PriceClass_All"), "HttpVersion": config.get("HttpVersion", "http1.1"),
        "IsIPV6Enabled": flag(config.get("IPV6Enabled", False)),
        "DefaultRootObject": config.get("DefaultRootObject", ""),
        "ViewerCertificate": _viewer_certificate(
            config.get("ViewerCertificate", {"CloudFrontDefaultCertificate": True}), place),
    }
    if "Logging" in config:
        logging = checked(config["Logging"], {"IncludeCookies", "Prefix"}, DISTRIBUTION, "Logging", required={"Bucket"})
        api["Logging"] = {"Enabled": True, "Bucket": logging["Bucket"], "Prefix": logging.get("Prefix", ""),
                          "IncludeCookies": flag(logging.get("IncludeCookies", False))}
    return api


class Distribution(Handler):
    type_name = DISTRIBUTION
    properties = frozenset({"DistributionConfig", "Tags"})
    attributes = frozenset({"DomainName", "Id"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        config = distribution_config(cls.required(properties, "DistributionConfig"), place)
        tags = [{"Key": k, "Value": v} for k, v in tag_dict(properties.get("Tags", []), DISTRIBUTION).items()]
        origins = [dict(origin) for origin in config["Origins"]["Items"]]  # moto replaces these by its models
        distribution, _, _ = _backend(place).create_distribution(config, tags)
        # moto's Origin keeps neither OriginAccessControlId nor S3OriginConfig as GetDistribution reports them
        for origin, api in zip(distribution.distribution_config.Origins["Items"], origins, strict=True):
            origin.origin_access_control_id = api.get("OriginAccessControlId", "")
            if "S3OriginConfig" in api:
                origin.s3_origin_config = api["S3OriginConfig"]
        return Resource(cls, distribution.id, place, {"DomainName": distribution.domain_name, "Id": distribution.id})

    @classmethod
    def delete(cls, resource: Resource) -> None:
        _backend(resource.place).distributions.pop(resource.physical_resource_id, None)


HANDLERS: tuple[type[Handler], ...] = (OriginAccessControl, Distribution)
