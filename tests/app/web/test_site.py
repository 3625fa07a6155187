"""The storefront build: hashed paths, headers per file, and a CSP the page can satisfy."""

import re
from pathlib import Path

import pytest

from app.web.site import CONTENT_SECURITY_POLICY, IMMUTABLE, INDEX, SHORT, build, build_from


def _index() -> str:
    return build()[0].body.decode()


def test_index_references_only_assets_that_the_build_ships() -> None:
    paths = {asset.path for asset in build()}
    referenced = re.findall(r'(?:src|href)="/(static/[^"]+)"', _index())
    assert referenced, "index.html loads no script or stylesheet"
    assert set(referenced) <= paths, f"index.html names assets the build does not ship: {set(referenced) - paths}"


def test_hashed_assets_are_immutable_and_index_is_short_lived() -> None:
    by_path = {asset.path: asset for asset in build()}
    assert by_path[INDEX].cache_control == SHORT
    hashed = [a for a in by_path.values() if a.path != INDEX]
    assert hashed and all(re.fullmatch(r"static/[0-9a-f]{12}/.+", a.path) for a in hashed)
    assert {a.cache_control for a in hashed} == {IMMUTABLE}


def test_assets_carry_their_content_types() -> None:
    types = {Path(a.path).suffix: a.content_type for a in build()}
    assert types[".html"].startswith("text/html")
    assert types[".js"].startswith("text/javascript")
    assert types[".css"].startswith("text/css")


def test_changing_any_static_file_moves_every_asset_to_a_new_release(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / INDEX).write_text('<script type="module" src="/static/app.js"></script>')
    (tmp_path / "static" / "app.js").write_text("import './b.js';")
    (tmp_path / "static" / "b.js").write_text("export const x = 1;")
    before = {a.path for a in build_from(tmp_path)}
    (tmp_path / "static" / "b.js").write_text("export const x = 2;")
    after = {a.path for a in build_from(tmp_path)}
    assert before & after == {INDEX}, "an unchanged path would let an immutable cache mix two releases"


def test_a_file_of_unknown_type_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / INDEX).write_text('<link href="/static/app.css">')
    (tmp_path / "static" / "notes.weird").write_text("?")
    with pytest.raises(ValueError, match=r"notes\.weird"):
        build_from(tmp_path)


def test_page_has_no_inline_script_or_style_the_csp_would_block() -> None:
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    html = _index()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script> block"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "an inline style"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
