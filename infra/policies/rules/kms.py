"""KMS rules: yearly rotation of symmetric customer-managed keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import Control, Problems, get, resource_rule

KEY = "aws:kms/key:Key"


def rotation_problems(props: Mapping[str, Any]) -> Problems:
    spec = get(props, "customerMasterKeySpec", default="SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT" or get(props, "keyUsage", default="ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return []  # KMS cannot rotate asymmetric or HMAC keys automatically
    return [] if get(props, "enableKeyRotation", default=False) else ["automatic key rotation is off"]


POLICIES = [
    resource_rule(
        "kms-4-key-rotation-enabled",
        Control("KMS.4", "AWS KMS key rotation should be enabled"),
        [KEY],
        rotation_problems,
        "set enable_key_rotation=True on the aws.kms.Key (infra.components.kms.encryption_key does)",
        why="Applies to symmetric encryption keys, the only kind KMS rotates automatically.",
    ),
]
