"""ModifyReplicationGroup's AUTH token changes, which moto ignores (its model keeps the token it was created
with, and no server ever sees a change).

ElastiCache rotates a token in two calls (ElastiCache guide, "Modifying the AUTH token on an existing
ElastiCache cluster"): AuthTokenUpdateStrategy ROTATE adds the new token beside the current one, both valid
while clients move to the new one; SET then makes it the only one. Both need ApplyImmediately and encryption
in transit. Here the group's tokens are kept on moto's model, and a group whose primary is a real
redis-server (data_stores) applies them to it at once; AuthTokenLastModifiedDate follows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cloud.cfn_resources.elasticache import AUTH_TOKEN
from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.moto_internals import (
    ActionResult,
    ElastiCacheResponse,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    once,
    replace,
    utcnow,
)

STRATEGIES = ("ROTATE", "SET", "DELETE")
TOKENS = "_local_auth_tokens"  # the group's valid tokens, oldest first (an attribute of this module's own)


def register() -> None:
    once("elasticache_auth", lambda: replace(ElastiCacheResponse, "modify_replication_group",
                                             _with_auth_token(ElastiCacheResponse.modify_replication_group)))


def _with_auth_token(original: Callable[[Any], ActionResult]) -> Callable[[Any], ActionResult]:
    def modify_replication_group(response: Any) -> ActionResult:
        token, strategy = response._get_param("AuthToken"), response._get_param("AuthTokenUpdateStrategy")
        group = response.elasticache_backend.replication_groups.get(response._get_param("ReplicationGroupId"))
        if group is not None and (token is not None or strategy is not None):
            _change_tokens(group, token, strategy, response._get_bool_param("ApplyImmediately"))
        return original(response)
    return modify_replication_group


def _change_tokens(group: Any, token: str | None, strategy: str | None, immediately: bool | None) -> None:
    """Check the change as ElastiCache does, then apply it to the model and the group's server."""
    strategy = strategy or "ROTATE"  # ElastiCache's default strategy with a new AuthToken
    if strategy not in STRATEGIES:
        raise InvalidParameterValueException(f"Invalid AuthTokenUpdateStrategy: {strategy}; use one of "
                                             f"{', '.join(STRATEGIES)}.")
    if not group.transit_encryption_enabled:
        raise InvalidParameterValueException("The AUTH token is only supported when encryption-in-transit is "
                                             "enabled")
    if not immediately:
        raise InvalidParameterCombinationException("AuthToken can only be modified with ApplyImmediately.")
    if strategy != "DELETE" and (token is None or not AUTH_TOKEN.fullmatch(token)):
        raise InvalidParameterValueException("Invalid AuthToken provided.")
    stores = data_stores.current()
    current: list[str] = getattr(group, TOKENS, None) or (stores.redis_tokens(group.replication_group_id)
                                                          if stores is not None else [])
    tokens = {"ROTATE": [*current[-1:], str(token)], "SET": [str(token)], "DELETE": []}[strategy]
    if stores is not None:
        stores.set_redis_tokens(group.replication_group_id, tokens)
    setattr(group, TOKENS, tokens)
    group.auth_token_enabled = bool(tokens)
    group.auth_token_last_modified_date = utcnow()
