"""out/<stack>/plan.html renders in a real browser (Debian's Chromium, headless) and shows the plan."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infra.offline import plan_page
from infra.offline.model import StackRun
from tests.conftest import stack

# As root, on a network that refuses most outbound connections (see the field notes).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def rendered_dom(page: Path, profile: Path) -> str:
    """The DOM Chromium built from ``page``, as it serialises it after loading."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (scripts/services.sh installs it)")
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Tree(HTMLParser):
    """Each tree item's type with the types of the items it is nested in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.items: list[tuple[str, list[str]]] = []
        self.rows: dict[str, int] = {}
        self._table = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "li":
            self.items.append((found.get("data-type") or "", list(self.stack)))
            self.stack.append(found.get("data-type") or "")
        elif tag == "table":
            self._table = found.get("id") or ""
        elif tag == "tr" and self._table:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.stack.pop()


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[StackRun, str, Tree]:
    run = stack("dev")
    folder = tmp_path_factory.mktemp("plan")
    (folder / "plan.html").write_text(plan_page.render(run))
    dom = rendered_dom(folder / "plan.html", folder / "profile")
    tree = Tree()
    tree.feed(dom)
    return run, dom, tree


def test_browser_renders_the_component_tree_with_resources_under_their_component(page):
    run, _, tree = page
    assert len(tree.items) == len(run.resources)
    subnets = [ancestors for type_, ancestors in tree.items if type_ == "aws:ec2/subnet:Subnet"]
    assert subnets and all("webscale:index:Network" in ancestors for ancestors in subnets)
    assert all(ancestors[0] == "pulumi:pulumi:Stack" for type_, ancestors in tree.items if ancestors)


def test_page_counts_every_type_and_lists_each_synthesized_resource_with_its_reason(page):
    run, dom, tree = page
    assert tree.rows["types"] == 1 + len({r.type for r in run.resources})
    synthesized = [r for r in run.resources if r.emulation == "synthesized"]
    assert synthesized and tree.rows["synthesized"] == 1 + len(synthesized)
    assert all(r.note in dom for r in synthesized)


def test_page_shows_the_stack_outputs(page):
    run, dom, tree = page
    assert tree.rows["outputs"] == 1 + len(run.outputs)
    assert run.outputs["vpcId"] in dom


def test_page_needs_nothing_from_elsewhere(run_of):
    html = plan_page.render(run_of("dev"))
    assert not re.search(r"""<(script|link|img|iframe)\b|url\(|@import""", html, re.IGNORECASE)
