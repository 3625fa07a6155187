"""Kubernetes objects: validated strictly against the cluster version's schema, and recorded.

Every ``kubernetes:`` type comes here. Built-in kinds are checked with kubernetes-validate
(unknown fields rejected) for the Kubernetes version of the EKS cluster in the same run; an
invalid object fails the run naming it and the field. Custom resources must wait for the
Helm release that installs their CRD and are checked strictly against that CRD's vendored
schema (``infra/offline/custom_resources.py``); Helm releases are recorded with their
values, unrendered.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError
from kubernetes_validate.utils import ValidationError as SchemaError

from infra.offline import custom_resources, readiness
from infra.offline.registry import Created, Ctx, translator_for_prefix

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
EKS_CLUSTER = "aws:eks/cluster:Cluster"


def api_version_and_kind(type_token: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); the core group has no prefix."""
    _, group_version, kind = type_token.split(":")
    return group_version.removeprefix("core/"), kind


def integral(value: Any) -> Any:
    """Numbers arrive from the SDK as floats; Kubernetes wants integers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def manifest(type_token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The object as it would be sent to the API server, from the registration's inputs."""
    api_version, kind = api_version_and_kind(type_token)
    obj = {k: integral(v) for k, v in inputs.items() if not k.startswith("__")}
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj


def cluster_version(ctx: Ctx) -> str:
    """``"1.35.0"``: the version of the EKS cluster recorded earlier in this run."""
    clusters = ctx.find(EKS_CLUSTER)
    if not clusters:
        raise ValueError(
            f"{ctx.type} '{ctx.name}': no {EKS_CLUSTER} was created before it, so there is no Kubernetes "
            "version to validate it against"
        )
    return f"{clusters[0]['version']}.0"


def describe(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj['kind']} {where}{metadata.get('name', '<unnamed>')}"


def validate(obj: dict[str, Any], version: str) -> str:
    """Validate ``obj`` strictly; return the note to show, or raise ValueError naming object and field."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except SchemaNotFoundError:
        return f"not schema-validated: no schema for {obj['apiVersion']} {obj['kind']}"
    except SchemaError as err:
        path = ".".join(str(p) for p in err.path) or "<root>"
        raise ValueError(f"{describe(obj)} is invalid for Kubernetes {version}: {path}: {err.message}") from None
    return f"validated against the Kubernetes {version} schema (strict)"


@translator_for_prefix("kubernetes:")
def kubernetes_object(ctx: Ctx) -> Created:
    if ctx.type == HELM_RELEASE:
        namespace = ctx.inputs.get("namespace") or "default"
        name = ctx.inputs.get("name") or ctx.name
        return Created(
            f"{namespace}/{name}",
            {**ctx.inputs, "name": name, "namespace": namespace, "status": {"name": name, "namespace": namespace}},
            note="chart not rendered offline",
        )
    obj = manifest(ctx.type, ctx.inputs)
    metadata = dict(obj.get("metadata") or {})
    if not metadata.get("name"):
        raise ValueError(f"{obj['kind']} '{ctx.name}' has no metadata.name (set names explicitly; nothing auto-names)")
    obj["metadata"] = metadata
    version = cluster_version(ctx)
    if custom_resources.group_of(obj["apiVersion"]) in custom_resources.CHART_OF_GROUP:
        note = custom_resources.validate(ctx, obj, describe(obj))
    else:
        note = validate(obj, version)
        readiness.check(ctx, obj, describe(obj))
    namespace = metadata.get("namespace")
    return Created(
        f"{namespace}/{metadata['name']}" if namespace else metadata["name"],
        {**ctx.inputs, "metadata": metadata},
        note=note,
    )
