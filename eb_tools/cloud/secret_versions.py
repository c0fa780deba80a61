"""Secrets Manager's current version follows its AWSCURRENT label.

moto moves the label on UpdateSecretVersionStage but keeps answering GetSecretValue (no version asked) with
the version that was current before, so a rotation's last step (finishSecret: AWSCURRENT moved to the
pending version) changed nothing a reader sees. In AWS the value without a version is AWSCURRENT's
(Secrets Manager API reference, GetSecretValue: "VersionStage ... defaults to AWSCURRENT").
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eb_tools.cloud.moto_internals import SecretsManagerBackend, once, replace


def register() -> None:
    once("secret_versions", lambda: replace(SecretsManagerBackend, "update_secret_version_stage",
                                            _following(SecretsManagerBackend.update_secret_version_stage)))


def _following(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_secret_version_stage(backend: Any, secret_id: str, version_stage: str,
                                    remove_from_version_id: str | None, move_to_version_id: str | None) -> Any:
        answer = original(backend, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            backend.secrets[secret_id].set_default_version_id(move_to_version_id)
        return answer
    return update_secret_version_stage
