"""The storefront's build: content-hashed asset paths, their headers, and the one CSP.

Standard library only, so the Pulumi program (which uploads the assets to the bucket) and the
local API (which serves them next to itself) build the same bytes with the same headers.

Hashing is per release, not per file: every file under ``src/static`` goes under
``static/<digest>/``, where the digest covers all of them. The ES modules then import each other
by plain relative paths (``./api.js``), which need no rewriting, and a change to any file gives
every asset a new URL, so an immutable cache can never mix two releases.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SOURCE = Path(__file__).parent / "src"
INDEX = "index.html"
STATIC_PREFIX = "/static/"

IMMUTABLE = "public, max-age=31536000, immutable"
"""Hashed assets never change under their URL: a year, and no revalidation."""
SHORT = "public, max-age=60"
"""``index.html`` names the current release's assets, so it may be at most a minute stale."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""The page has no inline script or style and calls only its own origin (``/api/*``)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Asset:
    path: str
    """The key in the bucket and the URL path without its leading slash."""
    body: bytes
    content_type: str
    cache_control: str


def content_type(name: str) -> str:
    suffix = Path(name).suffix
    found = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    if found is None:
        raise ValueError(f"no content type known for storefront file {name!r}; add its suffix to CONTENT_TYPES")
    return found


def digest(files: dict[str, bytes]) -> str:
    """A short hash over every static file's name and bytes."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:12]


def build_from(source: Path) -> tuple[Asset, ...]:
    """``index.html`` (its ``/static/`` references pointed at this release) plus the hashed assets."""
    static_dir = source / "static"
    files = {p.relative_to(static_dir).as_posix(): p.read_bytes() for p in sorted(static_dir.rglob("*")) if p.is_file()}
    release = digest(files)
    index = (source / INDEX).read_text(encoding="utf-8")
    if STATIC_PREFIX not in index:
        raise ValueError(f"{INDEX} references no {STATIC_PREFIX} asset")
    index = index.replace(f'"{STATIC_PREFIX}', f'"{STATIC_PREFIX}{release}/')
    assets = [Asset(INDEX, index.encode(), content_type(INDEX), SHORT)]
    assets += [Asset(f"static/{release}/{name}", body, content_type(name), IMMUTABLE) for name, body in files.items()]
    return tuple(assets)


@cache
def build() -> tuple[Asset, ...]:
    """The storefront as shipped, from ``app/web/src``."""
    return build_from(SOURCE)
