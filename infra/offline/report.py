"""What an offline run shows a person (a preview-like tree) and writes for tools (plan.json)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from infra.offline.model import Resource, StackRun

BANNER = "Produced by the offline engine (Pulumi mocks + moto), not by a cloud preview: nothing was deployed."
SECRET = "[secret]"


def scrub(value: Any, secrets: set[str]) -> Any:
    """``value`` with every secret string (or string containing one) replaced by ``[secret]``."""
    secrets = {s for s in secrets if s}  # an empty secret hides nothing
    if not secrets:
        return value
    # One pattern for all secrets: a plan has thousands of strings and a run dozens of secrets.
    return _scrub(value, re.compile("|".join(re.escape(s) for s in sorted(secrets))))


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return SECRET if pattern.search(value) else value
    if isinstance(value, dict):
        return {k: _scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    return value


def short_type(type_: str) -> str:
    """``aws:ec2/vpc:Vpc`` -> ``aws:ec2:Vpc``, as ``pulumi preview`` prints it."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return type_


def _tree_lines(run: StackRun) -> list[str]:
    children: dict[str | None, list[Resource]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)
    lines: list[str] = []

    def walk(r: Resource, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if last else "├─ ")
        label = f"{branch}{short_type(r.type)}"
        how = {"moto": "moto", "synthesized": "NOT EMULATED", "kubernetes": "recorded", "local": "local"}.get(
            r.emulation, ""
        )
        note = f"  ({r.note})" if r.note else ""
        lines.append(f" +   {label:<56} {r.name:<34} {how}{note}".rstrip())
        kids = children.get(r.urn, [])
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("" if depth == 0 else ("   " if last else "│  ")), i == len(kids) - 1, depth + 1)

    for root in children.get(None, []):
        walk(root, "", True, 0)
    return lines


def render(run: StackRun) -> str:
    """A plan a ``pulumi preview`` user recognises, plus what was and was not emulated."""
    out = [f"Offline plan for stack {run.project}/{run.stack} ({run.region})", BANNER, ""]
    out.append(f"     {'Type':<56} {'Name':<34} Emulation")
    out.extend(_tree_lines(run))
    out += ["", "Resources:", f"    + {len(run.resources)} to create", "", "By type:"]
    for type_, n in sorted(Counter(r.type for r in run.resources).items()):
        out.append(f"    {n:>4}  {type_}")
    out += ["", "Outputs:"]
    for key, value in sorted(scrub(run.outputs, run.secrets).items()):
        out.append(f"    {key}: {json.dumps(value)}")
    counts = Counter(r.emulation for r in run.resources)
    out += [
        "",
        "Emulation:",
        f"    {counts['moto']} emulated in moto (ids, ARNs and endpoints are moto's)",
        f"    {counts['synthesized']} synthesized: not emulated, deterministic stand-in outputs",
        f"    {counts['kubernetes']} Kubernetes objects recorded",
        f"    {counts['local']} computed locally, {counts['component']} components, {counts['provider']} providers",
    ]
    synthesized = [r for r in run.resources if r.emulation == "synthesized"]
    if synthesized:
        out += ["", "Not emulated (moto lacks the API):"]
        for r in synthesized:
            out.append(f"    {short_type(r.type)}  {r.name}: {r.note}")
    return "\n".join(out) + "\n"


def plan(run: StackRun, config: dict[str, Any]) -> dict[str, Any]:
    """The run in the shape of ``pulumi preview --json``, secrets masked."""
    steps = []
    for r in run.resources:
        state: dict[str, Any] = {
            "urn": r.urn,
            "custom": r.custom,
            "type": r.type,
            "inputs": r.inputs,
            "outputs": run.outputs if r.type == "pulumi:pulumi:Stack" else r.outputs,
        }
        if r.id:
            state["id"] = r.id
        if r.parent:
            state["parent"] = r.parent
        if r.provider:
            state["provider"] = r.provider
        if r.protect:
            state["protect"] = True
        if r.dependencies:
            state["dependencies"] = r.dependencies
        step: dict[str, Any] = {"op": "create", "urn": r.urn, "newState": state}
        if r.provider:
            step["provider"] = r.provider
        steps.append(step)
    return scrub(
        {
            "config": config,
            "steps": steps,
            "changeSummary": {"create": len(run.resources)},
            "offline": {
                "note": BANNER,
                "emulation": dict(Counter(r.emulation for r in run.resources)),
                "notEmulated": [
                    {"urn": r.urn, "type": r.type, "reason": r.note}
                    for r in run.resources
                    if r.emulation == "synthesized"
                ],
            },
        },
        run.secrets,
    )


def manifest(resource: Resource) -> dict[str, Any]:
    """A recorded Kubernetes object as the YAML ``kubectl apply`` would take."""
    _, group_version, kind = resource.type.split(":")
    group, version = group_version.split("/")
    api_version = version if group == "core" else f"{group}/{version}"
    body = {k: v for k, v in resource.inputs.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": api_version, "kind": kind, **_integral(body)}


def _integral(value: Any) -> Any:
    """Pulumi's wire format makes every number a float; Kubernetes wants integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def write(run: StackRun, config: dict[str, Any], out_dir: Path) -> Path:
    """Write ``plan.json`` and the Kubernetes manifests under ``out_dir/<stack>/``."""
    stack_dir = out_dir / run.stack
    manifests = stack_dir / "manifests"
    stack_dir.mkdir(parents=True, exist_ok=True)
    for old in manifests.glob("*.yaml"):
        old.unlink()
    (stack_dir / "plan.json").write_text(json.dumps(plan(run, config), indent=2, sort_keys=True) + "\n")
    for r in run.resources:
        if r.emulation == "kubernetes" and not r.type.startswith("kubernetes:helm.sh/"):
            doc = scrub(manifest(r), run.secrets)
            meta = doc.get("metadata") or {}
            filename = "-".join(
                p for p in (doc["kind"].lower(), meta.get("namespace"), meta.get("name") or r.name) if p
            )
            manifests.mkdir(exist_ok=True)
            (manifests / f"{filename}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return stack_dir
