"""AWS::SES::EmailIdentity, which moto's CloudFormation has no model for.

The identity is made in moto's SES backend, which SES v1 and SESv2 share (ListIdentities and
GetEmailIdentity both see it), and left pending as SES leaves it (ses_sandbox.py): an address until its
owner follows the link SES mails it, a domain until SES finds the CNAME records of its three Easy DKIM
tokens, which GetAtt DkimDNSTokenName1..3 and DkimDNSTokenValue1..3 give, as in AWS. Ref is the identity.
"""
from __future__ import annotations

import secrets
from typing import Any

from eb_tools.cloud import ses_sandbox
from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, tag_dict
from eb_tools.cloud.moto_internals import ServiceException, ses_backends

IDENTITY = "AWS::SES::EmailIdentity"
DKIM_TOKENS = 3


class AlreadyExists(ServiceException):
    """SESv2's refusal of an identity the account already has in the region."""

    code = "AlreadyExistsException"


class EmailIdentity(Handler):
    type_name = IDENTITY
    properties = frozenset({"EmailIdentity", "Tags"})
    attributes = frozenset(f"DkimDNSToken{kind}{n}" for kind in ("Name", "Value") for n in range(1, DKIM_TOKENS + 1))

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        identity_name = str(cls.required(properties, "EmailIdentity"))
        backend = place.backend(ses_backends)
        if identity_name in backend.email_identities:
            raise AlreadyExists(f"Email identity {identity_name} already exists in {place.region}.")
        tags = [{"Key": key, "Value": value} for key, value in tag_dict(properties.get("Tags", []), IDENTITY).items()]
        identity = backend.create_email_identity_v2(identity_name, tags or None, None, None)
        attributes: dict[str, str] = {}
        if "@" not in identity_name:  # a domain: Easy DKIM, SES's own keys behind three CNAME records
            tokens = [secrets.token_hex(16) for _ in range(DKIM_TOKENS)]  # SES's are 32 lowercase characters
            ses_sandbox.start_easy_dkim(identity, tokens)
            for n, token in enumerate(tokens, 1):
                attributes[f"DkimDNSTokenName{n}"] = f"{token}._domainkey.{identity_name}"
                attributes[f"DkimDNSTokenValue{n}"] = f"{token}.dkim.amazonses.com"
        return Resource(cls, identity_name, place, attributes)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        resource.place.backend(ses_backends).email_identities.pop(resource.physical_resource_id, None)


HANDLERS: tuple[type[Handler], ...] = (EmailIdentity,)
