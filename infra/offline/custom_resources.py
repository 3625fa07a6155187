"""Custom resources: ordered after the Helm release that installs their CRD, and validated
strictly against that CRD's schema, for the chart version that release installs.

A custom resource sent before its CRD exists fails with "no matches for kind"; one sent
before the controller's admission webhook is up fails on the webhook call. So each must
wait, directly or transitively, for the release of the chart that brings its CRD (an
``atomic`` release is ready only when the controller and its webhook are).

The schemas are vendored under ``infra/offline/crds/<chart>-<version>.yaml`` (no network
at test time); each file says where it comes from.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from infra.offline import scalers
from infra.offline.registry import Ctx

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CRD_DIR = Path(__file__).parent / "crds"

CHART_OF_GROUP = {
    "keda.sh": "keda",
    "elbv2.k8s.aws": "aws-load-balancer-controller",
}
"""Which chart installs the CRDs of each API group."""


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def installing_release(ctx: Ctx, obj: dict[str, Any], label: str) -> dict[str, Any]:
    """The outputs of the Helm release that installs ``obj``'s CRD, which ``obj`` must wait for."""
    group = group_of(obj["apiVersion"])
    chart = CHART_OF_GROUP.get(group)
    if chart is None:
        raise ValueError(
            f"{label}: the engine does not know which chart installs the CRDs of {group!r} "
            f"(known: {', '.join(sorted(CHART_OF_GROUP))}); add it to CHART_OF_GROUP with its vendored CRD"
        )
    waited = [u for u in ctx.waits_for(HELM_RELEASE) if u.outputs.get("chart") == chart]
    if waited:
        return dict(waited[0].outputs)
    exists = [r for r in ctx.find(HELM_RELEASE) if r.get("chart") == chart]
    where = "a Helm release of it exists but" if exists else "no Helm release of it was created before it, and"
    raise ValueError(
        f"{label} needs the CRD that the {chart!r} chart installs: {where} the object does not wait for it. "
        f"Fix: depends_on the {chart} release (EksCluster exposes it), or the API server answers "
        f"'no matches for kind {obj['kind']}'"
    )


def strict(schema: Any) -> Any:
    """The schema as the API server applies it with strict field validation, in JSON Schema terms.

    An object with ``properties`` admits no other key (the server prunes or, strictly, rejects
    them) unless it says ``x-kubernetes-preserve-unknown-fields``; ``x-kubernetes-int-or-string``
    is an integer or a string.
    """
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


@cache
def _vendored(chart: str, version: str) -> dict[tuple[str, str], dict[str, Any]]:
    path = CRD_DIR / f"{chart}-{version}.yaml"
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text())
    return {(c["apiVersion"], c["kind"]): strict(c["openAPIV3Schema"]) for c in doc["crds"]}


def schema_for(chart: str, version: str, api_version: str, kind: str) -> dict[str, Any]:
    found = _vendored(chart, version).get((api_version, kind))
    if found is None:
        raise ValueError(
            f"{api_version} {kind}: no CRD schema vendored for chart {chart} {version} "
            f"(expected in {CRD_DIR.name}/{chart}-{version}.yaml); vendor the chart's CRD before changing its version"
        )
    return found


def validate(ctx: Ctx, obj: dict[str, Any], label: str) -> str:
    """Check ordering, the CRD schema (strict: no unknown fields) and KEDA trigger tables.

    Returns the note to show; raises ValueError naming the object, the field and the fix.
    """
    release = installing_release(ctx, obj, label)
    chart, version = str(release["chart"]), str(release.get("version") or "")
    schema = schema_for(chart, version, obj["apiVersion"], obj["kind"])
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        path = ".".join(str(p) for p in first.path) or "<root>"
        raise ValueError(f"{label} is invalid for the {chart} {version} CRD: {path}: {first.message}")
    if obj["kind"] == "ScaledObject":
        problems = scalers.scaled_object_problems(obj)
        if problems:
            raise ValueError(f"{label}: KEDA {version} would not read its triggers: " + "; ".join(problems))
    return f"validated against the {chart} {version} CRD schema (strict)"
