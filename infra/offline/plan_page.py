"""``out/<stack>/plan.html``: the offline plan as one self-contained page for a browser.

The same facts as the printed plan (component tree, count per type, what was emulated and what
was synthesized, with the reasons, and the stack outputs), with secrets masked. No scripts,
fonts or stylesheets from anywhere else, so the file opens from disk, offline, as it is.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape

from infra.offline.model import Resource, StackRun
from infra.offline.report import BANNER, scrub, short_type

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 80rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.banner { background: #fff6d6; border: 1px solid #e8d48a; padding: .5rem .8rem; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.2rem; margin: 0; }
ul.tree { padding-left: 0; } ul.tree li { margin: .1rem 0; }
.type { font-family: ui-monospace, monospace; } .name { font-weight: 600; margin-left: .4rem; }
.how { font-size: .75rem; border-radius: .6rem; padding: 0 .45rem; margin-left: .4rem; }
.moto { background: #dcefdc; } .synthesized { background: #f8d7d3; } .kubernetes { background: #dbe8f7; }
.local, .component, .provider { background: #eee; }
.note { color: #666; font-size: .85rem; margin-left: .4rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } code { font-size: .85rem; }
"""

LABELS = {"moto": "moto", "synthesized": "not emulated", "kubernetes": "recorded", "local": "local"}


def _item(run: StackRun, r: Resource, children: dict[str | None, list[Resource]]) -> str:
    how = LABELS.get(r.emulation, "")
    badge = f'<span class="how {r.emulation}">{escape(how)}</span>' if how else ""
    note = f'<span class="note">{escape(r.note)}</span>' if r.note else ""
    if not r.custom:
        inside = Counter(d.type for d in run.descendants(r) if d.custom)
        top = ", ".join(f"{n} {short_type(t).split(':')[-1]}" for t, n in inside.most_common(3))
        note = f'<span class="note">{sum(inside.values())} resources ({escape(top)}{", ..." if len(inside) > 3 else ""})</span>'
    kids = children.get(r.urn, [])
    nested = "<ul>" + "".join(_item(run, k, children) for k in kids) + "</ul>" if kids else ""
    return (
        f'<li data-type="{escape(r.type)}"><span class="type">{escape(short_type(r.type))}</span>'
        f'<span class="name">{escape(r.name)}</span>{badge}{note}{nested}</li>'
    )


def render(run: StackRun) -> str:
    """The whole page, as a string."""
    children: dict[str | None, list[Resource]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)
    tree = "".join(_item(run, root, children) for root in children.get(None, []))
    by_type = "".join(
        f'<tr><td class="n">{n}</td><td><code>{escape(t)}</code></td></tr>'
        for t, n in sorted(Counter(r.type for r in run.resources).items())
    )
    counts: Counter[str] = Counter(r.emulation for r in run.resources)
    emulation = "".join(
        f'<tr><td class="n">{counts[key]}</td><td>{escape(text)}</td></tr>'
        for key, text in (
            ("moto", "emulated in moto (ids, ARNs and endpoints are moto's)"),
            ("synthesized", "synthesized: not emulated, deterministic stand-in outputs"),
            ("kubernetes", "Kubernetes objects recorded"),
            ("local", "computed locally"),
            ("component", "components"),
            ("provider", "providers"),
        )
    )
    synthesized = "".join(
        f"<tr><td><code>{escape(short_type(r.type))}</code></td><td>{escape(r.name)}</td><td>{escape(r.note)}</td></tr>"
        for r in run.resources
        if r.emulation == "synthesized"
    )
    outputs = "".join(
        f"<tr><td><code>{escape(k)}</code></td><td><code>{escape(json.dumps(v))}</code></td></tr>"
        for k, v in sorted(scrub(run.outputs, run.secrets).items())
    )
    title = f"Offline plan for stack {run.project}/{run.stack} ({run.region})"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="banner">{escape(BANNER)}</p>
<p id="total">{len(run.resources)} resources to create.</p>
<h2 id="tree-heading">Component tree</h2>
<ul class="tree" aria-labelledby="tree-heading">{tree}</ul>
<h2 id="types-heading">Resources by type</h2>
<table id="types" aria-labelledby="types-heading"><tr><th>Count</th><th>Type</th></tr>{by_type}</table>
<h2 id="emulation-heading">Emulation</h2>
<table id="emulation" aria-labelledby="emulation-heading"><tr><th>Count</th><th>How</th></tr>{emulation}</table>
<h2 id="synthesized-heading">Not emulated (moto lacks the API)</h2>
<table id="synthesized" aria-labelledby="synthesized-heading">
<tr><th>Type</th><th>Name</th><th>Reason</th></tr>{synthesized}</table>
<h2 id="outputs-heading">Stack outputs</h2>
<table id="outputs" aria-labelledby="outputs-heading"><tr><th>Output</th><th>Value</th></tr>{outputs}</table>
</body>
</html>
"""
