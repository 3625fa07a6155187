"""KEDA trigger metadata checked against each scaler's documented parameters and values.

The ScaledObject CRD types ``triggers[].metadata`` as a map of strings, so its schema accepts
any key and any value; KEDA itself reads the keys it knows and ignores the rest, or fails at
run time, long after ``pulumi up`` succeeded. This table is what the engine holds a trigger to.

Source: the KEDA scaler reference for v2.18 (the ``keda`` chart pinned in
``infra/components/eks/args.py``), https://keda.sh/docs/2.18/scalers/apache-kafka/ and
https://keda.sh/docs/2.18/scalers/cpu/, transcribed here (no network at test time). Only the
parameters KEDA reads from trigger metadata are listed; credentials (``username``,
``password``, certificates, OAuth endpoints) belong in a TriggerAuthentication.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[str], str | None]
"""Returns what is wrong with a value, or None."""


def one_of(*values: str) -> Check:
    return lambda v: None if v in values else f"must be one of {', '.join(values)}"


def integer(minimum: int = 0) -> Check:
    def check(v: str) -> str | None:
        return None if re.fullmatch(r"-?\d+", v) and int(v) >= minimum else f"must be an integer >= {minimum}"

    return check


def text(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


BOOL = one_of("true", "false")


@dataclass(frozen=True)
class Scaler:
    """What a scaler reads from ``metadata``, and the trigger-level ``metricType`` it allows."""

    parameters: Mapping[str, Check]
    required: tuple[str, ...] = ()
    metric_types: tuple[str, ...] = ("AverageValue", "Value")
    rules: tuple[Callable[[Mapping[str, str], Mapping[str, Any]], str | None], ...] = field(default=())


def _token_provider_needs_oauthbearer(meta: Mapping[str, str], trigger: Mapping[str, Any]) -> str | None:
    if "saslTokenProvider" in meta and meta.get("sasl") != "oauthbearer":
        return "saslTokenProvider applies only with sasl: oauthbearer"
    return None


def _msk_iam_needs_region_tls_and_identity(meta: Mapping[str, str], trigger: Mapping[str, Any]) -> str | None:
    if meta.get("saslTokenProvider") != "aws_msk_iam":
        return None
    missing = [k for k in ("awsRegion",) if k not in meta]
    if meta.get("tls") != "enable":
        missing.append("tls: enable")
    if not trigger.get("authenticationRef"):
        missing.append("authenticationRef (a TriggerAuthentication with podIdentity provider aws)")
    return f"saslTokenProvider aws_msk_iam needs {', '.join(missing)}" if missing else None


SCALERS: dict[str, Scaler] = {
    "kafka": Scaler(
        parameters={
            "bootstrapServers": text,
            "consumerGroup": text,
            "topic": text,
            "lagThreshold": integer(1),
            "activationLagThreshold": integer(0),
            "offsetResetPolicy": one_of("latest", "earliest"),
            "allowIdleConsumers": BOOL,
            "scaleToZeroOnInvalidOffset": BOOL,
            "excludePersistentLag": BOOL,
            "limitToPartitionsWithLag": BOOL,
            "ensureEvenDistributionOfPartitions": BOOL,
            "version": text,
            "partitionLimitation": text,
            "sasl": one_of("plaintext", "scram_sha256", "scram_sha512", "gssapi", "oauthbearer", "none"),
            "saslTokenProvider": one_of("bearer", "aws_msk_iam"),
            "tls": one_of("enable", "disable"),
            "unsafeSsl": BOOL,
            "awsRegion": text,
        },
        required=("bootstrapServers", "consumerGroup"),
        rules=(_token_provider_needs_oauthbearer, _msk_iam_needs_region_tls_and_identity),
    ),
    "cpu": Scaler(
        parameters={"value": integer(1), "containerName": text},
        required=("value",),
        metric_types=("Utilization", "AverageValue"),
    ),
}


def trigger_problems(trigger: Mapping[str, Any]) -> list[str]:
    """What is wrong with one ``spec.triggers[]`` entry, each naming the key."""
    kind = trigger.get("type")
    scaler = SCALERS.get(str(kind))
    if scaler is None:
        return [f"type {kind!r}: the engine has no parameter table for this scaler (known: {', '.join(SCALERS)})"]
    meta = trigger.get("metadata") or {}
    problems: list[str] = []
    metric_type = trigger.get("metricType")
    if metric_type is not None and metric_type not in scaler.metric_types:
        problems.append(f"metricType {metric_type!r}: the {kind} scaler allows {', '.join(scaler.metric_types)}")
    if kind == "cpu" and metric_type is None:
        problems.append("metricType: the cpu scaler needs Utilization or AverageValue")
    for key, value in meta.items():
        check = scaler.parameters.get(key)
        if check is None:
            problems.append(f"metadata.{key}: not a parameter of the {kind} scaler")
        elif not isinstance(value, str):
            problems.append(f"metadata.{key}: must be a string, not {type(value).__name__}")
        elif (wrong := check(value)) is not None:
            problems.append(f"metadata.{key} = {value!r}: {wrong}")
    problems += [f"metadata.{key}: required by the {kind} scaler" for key in scaler.required if key not in meta]
    if not problems:
        problems += [p for rule in scaler.rules if (p := rule(meta, trigger)) is not None]
    return problems


def scaled_object_problems(obj: Mapping[str, Any]) -> list[str]:
    """Every trigger problem of a ScaledObject, prefixed with the trigger's index and type."""
    out = []
    for i, trigger in enumerate((obj.get("spec") or {}).get("triggers") or []):
        out += [f"spec.triggers[{i}] ({trigger.get('type')}): {p}" for p in trigger_problems(trigger)]
    return out
