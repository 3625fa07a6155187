"""Render the configuration reference (docs/configuration.md) from the settings classes.

The Args docstrings are the single source of every key, default and reason; this page is
generated from them so that it cannot drift. ``make docs`` rewrites it, and a test fails when
it is stale.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from infra.settings import StackSettings

HEADER = """# Configuration reference

Generated from the settings classes by `make docs`; do not edit by hand. Keys live in the
`webscale:` namespace of `stacks/Pulumi.<stack>.yaml`; sections are objects with camelCase keys.
"""


_NOT_CONFIG = {"project", "stack", "region"}  # from Pulumi.yaml, the stack name and aws:region


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value, default=str)}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if name in _NOT_CONFIG:
            continue
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue
        doc = " ".join((field.description or "").split()).replace("``", "`")
        rows.append(f"| `{key}` | {_default(field)} | {doc} |")
    return rows


def render() -> str:
    out = [HEADER, "## Stack", "", "| key | default | meaning |", "| --- | --- | --- |"]
    out.append("| `aws:region` | required | The AWS region of the stack. |")
    out += _rows(StackSettings, "webscale:")
    for name, field in StackSettings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            section = field.alias or name
            doc = " ".join((annotation.__doc__ or "").split()).replace("``", "`")
            out += ["", f"## `webscale:{section}`", "", doc, "", "| key | default | meaning |", "| --- | --- | --- |"]
            out += _rows(annotation, "")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
