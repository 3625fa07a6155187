"""Physical names derive from project and stack, so two stacks never collide in one account."""

from __future__ import annotations

import hashlib
import re

import pulumi


def physical_name(project: str, stack: str, *parts: str, max_len: int = 63) -> str:
    """``webscale-prod-orders-db``: lowercase, hyphenated, within ``max_len``.

    When too long, the name is cut and ends in a short hash of the full name, so cut
    names of different resources stay distinct.
    """
    full = "-".join(p for p in (project, stack, *parts) if p)
    full = re.sub(r"[^a-z0-9-]+", "-", full.lower()).strip("-")
    if len(full) <= max_len:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{full[: max_len - len(digest) - 1].rstrip('-')}-{digest}"


def stack_name(*parts: str, max_len: int = 63) -> str:
    """:func:`physical_name` for the running project and stack."""
    return physical_name(pulumi.get_project(), pulumi.get_stack(), *parts, max_len=max_len)
