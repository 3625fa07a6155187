"""Hooks for the contract test's schemathesis run (loaded through SCHEMATHESIS_HOOKS).

The schema promises which requests are well formed, not which products exist or which
idempotency keys are fresh. So a well-formed SKU is swapped for one of the seeded catalogue's,
and a well-formed Idempotency-Key for a fresh one: valid stays valid, invalid stays invalid, and
a 422 for valid data is then always a lie in the contract.
"""

import re
import uuid
import zlib
from typing import Any

import schemathesis

SKU = re.compile(r"^[A-Z0-9]{2,12}(-[A-Z0-9]{2,12}){0,3}$")
CATALOGUE = [f"SKU-{n:04d}" for n in range(1, 51)]


def _catalogue_sku(sku: str) -> str:
    return CATALOGUE[zlib.crc32(sku.encode()) % len(CATALOGUE)]


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        for item in body["items"]:
            if isinstance(item, dict) and isinstance(item.get("sku"), str) and SKU.fullmatch(item["sku"]):
                item["sku"] = _catalogue_sku(item["sku"])
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and 1 <= len(value) <= 200:
            headers[name] = f"{value[:200]}-{uuid.uuid4().hex}"
