"""Render the configuration reference (docs/configuration.md) from the settings classes.

The Args docstrings are the single source of every key, default and reason; this page is
generated from them so that it cannot drift. ``make docs`` rewrites it, and a test fails when
it is stale.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel

from infra.settings import StackSettings

HEADER = """# Configuration reference

Generated from the settings classes by `make docs`; do not edit by hand. Keys live in the
`webscale:` namespace of `stacks/Pulumi.<stack>.yaml`; sections are objects with camelCase keys.
"""


_NOT_CONFIG = {"project", "stack", "region"}  # from Pulumi.yaml, the stack name and aws:region


def _default(field: Any, value: Any = None, inherited: bool = False) -> str:
    if not inherited and field.is_required():
        return "required"
    if not inherited:
        value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value, default=str)}`"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings class of a section, also when the section is optional (``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [a for a in get_args(annotation) if a is not type(None)]
    if len(models) == 1 and isinstance(models[0], type) and issubclass(models[0], BaseModel):
        return models[0]
    return None


def _rows(model: type[BaseModel], prefix: str, defaults: BaseModel | None = None, *, recurse: bool = True) -> list[str]:
    """One row per key; nested sections become dotted keys, with their parent's default values."""
    rows = []
    for name, field in model.model_fields.items():
        if name in _NOT_CONFIG:
            continue
        key = f"{prefix}{field.alias or name}"
        value = getattr(defaults, name) if defaults is not None else None
        nested = _model_of(field.annotation)
        if nested is not None:
            if recurse:  # a section inside a section: its keys, dotted
                if defaults is None and not field.is_required():
                    value = field.get_default(call_default_factory=True)
                rows += _rows(nested, f"{key}.", value if isinstance(value, BaseModel) else None)
            continue
        doc = " ".join((field.description or "").split()).replace("``", "`")
        rows.append(f"| `{key}` | {_default(field, value, inherited=defaults is not None)} | {doc} |")
    return rows


def render() -> str:
    out = [HEADER, "## Stack", "", "| key | default | meaning |", "| --- | --- | --- |"]
    out.append("| `aws:region` | required | The AWS region of the stack. |")
    out += _rows(StackSettings, "webscale:", recurse=False)
    for name, field in StackSettings.model_fields.items():
        annotation = _model_of(field.annotation)
        if annotation is not None:
            section = field.alias or name
            doc = " ".join((annotation.__doc__ or "").split()).replace("``", "`")
            out += ["", f"## `webscale:{section}`", "", doc, "", "| key | default | meaning |", "| --- | --- | --- |"]
            out += _rows(annotation, "")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
