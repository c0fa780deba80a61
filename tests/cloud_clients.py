"""boto3 clients of a local cloud, as tests make them: the cloud's credentials, its URL as the endpoint."""
from __future__ import annotations

from typing import Any

from eb_tools.aws import LOCAL_REGION, client, local_session


def local_client(service: str, endpoint_url: str, region: str = LOCAL_REGION) -> Any:
    """A client of `service` of the local cloud at `endpoint_url`, through eb_tools' one way to make clients."""
    return client(local_session(region), service, endpoint_url)
