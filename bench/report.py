"""The benchmark's outputs: a printed table, docs/benchmarks.md with PNG charts, a JSON record."""

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.load import PERCENTILES, Result
from bench.pipeline import EndToEnd

TARGETS = {
    "e2e": 10_000,  # orders/min, one replica each
    "placement_ratio": 0.25,
    "sync_p99_ratio": 10.0,
    "hit_ratio": 0.80,
    "cache_p50_ratio": 5.0,
}


def _load(result: Result) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "rate": round(result.rate, 1),
        "errors": result.errors,
        "non_2xx": result.non_2xx,
        "percentiles_ms": {str(q): round(v, 3) for q, v in result.percentiles_ms.items()},
        "wrk_cpu_seconds": round(result.cpu_seconds, 2),
        "wrk_cpu_share_of_box": round(result.cpu_share, 3),
    }


def placement_record(post: Result, pgbench_tps: float, clients: int) -> dict[str, Any]:
    return {"clients": clients, "post": _load(post), "pgbench_tps": pgbench_tps, "ratio": post.rate / pgbench_tps}


def reads_record(cached: Result, uncached: Result, hits: float, misses: float) -> dict[str, Any]:
    return {
        "cached": _load(cached),
        "uncached": _load(uncached),
        "hit_ratio": hits / (hits + misses) if hits + misses else 0.0,
        "p50_ratio": uncached.p(50) / cached.p(50) if cached.p(50) else 0.0,
    }


def sync_record(asynchronous: Result, sync: Result, rate: float) -> dict[str, Any]:
    return {
        "offered_rate": rate,
        "async": _load(asynchronous),
        "sync": _load(sync),
        "p99_ratio": sync.p(99) / asynchronous.p(99) if asynchronous.p(99) else 0.0,
    }


def e2e_record(run: EndToEnd) -> dict[str, Any]:
    return {
        "replicas": run.replicas,
        "offered_rate": run.offered_rate,
        "window_seconds": round(run.window_seconds, 1),
        "per_minute": round(run.per_minute),
        "placed": run.placed,
        "drained": run.drained,
        "lost": run.lost,
        "post": _load(run.post),
        "samples": run.samples,
        "cpu_ms_per_order": run.cpu_ms_per_order,
        "projected_per_minute": round(run.projected_per_minute),
        "backlog_growth": run.backlog_growth,
    }


def _backlog(run: dict[str, Any]) -> str:
    """How far completion fell behind placement inside the window: near 0 means steady state; a
    growing backlog means the figure is the pipeline's ceiling at this offered load."""
    grew = run.get("backlog_growth")
    return "" if grew is None else f"; backlog {grew:+,} over the window"


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, figure, target and verdict)."""
    rows: list[tuple[str, str, str]] = []

    def verdict(value: float, target: float) -> str:
        return f">= {target:g}: {'met' if value >= target else f'MISSED by {100 * (1 - value / target):.0f}%'}"

    for run in results.get("e2e", []):
        label = f"(a) end to end, {run['replicas']} replica(s), orders/min"
        target = verdict(run["per_minute"], TARGETS["e2e"]) if run["replicas"] == 1 else "reported"
        rows.append((label, f"{run['per_minute']:,} (offered {run['offered_rate'] * 60:,.0f}{_backlog(run)})", target))
        rows.append(
            (f"(a) drained, lost ({run['replicas']} replica(s))", f"{run['drained']}, {run['lost']}", "True, 0")
        )
        cpu = ", ".join(f"{role} {ms:.1f}" for role, ms in sorted(run["cpu_ms_per_order"].items(), key=lambda i: -i[1]))
        rows.append((f"(a) CPU ms per order ({run['replicas']} replica(s))", cpu, "where the CPU goes"))
        projected = run["projected_per_minute"]
        rows.append(
            (
                f"(a) projected orders/min, CPU-bound idle box ({run['replicas']} replica(s))",
                f"{projected:,}",
                verdict(projected, TARGETS["e2e"]) if run["replicas"] == 1 else "reported",
            )
        )
    if placement := results.get("placement"):
        rows.append(("(b) POST /api/orders req/s", f"{placement['post']['rate']:,.0f}", ""))
        rows.append(("(b) pgbench, same statement, tx/s", f"{placement['pgbench_tps']:,.0f}", ""))
        rows.append(("(b) ratio", f"{placement['ratio']:.1%}", verdict(placement["ratio"], TARGETS["placement_ratio"])))
    if sync := results.get("sync"):
        rows.append(("(c) async p99 ms", f"{sync['async']['percentiles_ms']['99.0']:.1f}", ""))
        rows.append(("(c) sync p99 ms", f"{sync['sync']['percentiles_ms']['99.0']:.1f}", ""))
        rows.append(
            ("(c) sync/async p99", f"{sync['p99_ratio']:.1f}x", verdict(sync["p99_ratio"], TARGETS["sync_p99_ratio"]))
        )
    if reads := results.get("reads"):
        rows.append(
            ("(d) cache hit ratio", f"{reads['hit_ratio']:.1%}", verdict(reads["hit_ratio"], TARGETS["hit_ratio"]))
        )
        cached, uncached = reads["cached"]["percentiles_ms"]["50.0"], reads["uncached"]["percentiles_ms"]["50.0"]
        rows.append(("(d) GET p50 ms, cache on / off", f"{cached:.2f} / {uncached:.2f}", ""))
        rows.append(
            ("(d) p50 off/on", f"{reads['p50_ratio']:.1f}x", verdict(reads["p50_ratio"], TARGETS["cache_p50_ratio"]))
        )
    shares = [phase["wrk_cpu_share_of_box"] for phase in _load_phases(results)]
    if shares:
        rows.append(("(e) wrk CPU share of the box, max over phases", f"{max(shares):.1%}", "reported"))
    return rows


def _load_phases(results: dict[str, Any]) -> list[dict[str, Any]]:
    phases = [run["post"] for run in results.get("e2e", [])]
    if placement := results.get("placement"):
        phases.append(placement["post"])
    if sync := results.get("sync"):
        phases += [sync["async"], sync["sync"]]
    if reads := results.get("reads"):
        phases += [reads["cached"], reads["uncached"]]
    return phases


def table(results: dict[str, Any]) -> str:
    rows = [("measure", "figure", "target"), *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _charts(results: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    if runs := results.get("e2e"):
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for run in runs:
            samples = run["samples"]
            times = [s[0] for s in samples[1:]]
            rates = [60 * (b[2] - a[2]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples)]
            ax.plot(times, rates, label=f"{run['replicas']} replica(s): terminal orders/min")
        ax.axhline(TARGETS["e2e"], color="grey", linestyle="--", label="target")
        ax.set_xlabel("seconds since the load started")
        ax.set_ylabel("orders/min")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "bench-throughput.png", dpi=110)
        made.append("bench-throughput.png")
    phases = {}
    if placement := results.get("placement"):
        phases["POST, full speed"] = placement["post"]
    if sync := results.get("sync"):
        phases |= {"POST async, fixed rate": sync["async"], "POST sync, fixed rate": sync["sync"]}
    if reads := results.get("reads"):
        phases |= {"GET cache on": reads["cached"], "GET cache off": reads["uncached"]}
    if phases:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for label, phase in phases.items():
            values = [phase["percentiles_ms"][str(float(q))] for q in PERCENTILES]
            ax.plot(values, [q / 100 for q in PERCENTILES], marker=".", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("fraction of requests")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "bench-latency-cdf.png", dpi=110)
        made.append("bench-latency-cdf.png")
    if sync := results.get("sync"):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        labels = ["p50", "p90", "p99"]
        for offset, (name, phase) in enumerate((("async", sync["async"]), ("sync", sync["sync"]))):
            values = [phase["percentiles_ms"][q] for q in ("50.0", "90.0", "99.0")]
            ax.bar([i + offset * 0.4 for i in range(3)], values, width=0.4, label=name)
        ax.set_xticks([i + 0.2 for i in range(3)], labels)
        ax.set_ylabel("POST /api/orders latency, ms")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "bench-async-vs-sync.png", dpi=110)
        made.append("bench-async-vs-sync.png")
    return made


SHARDED_NOTE = [
    "## Sharded mode",
    "",
    "`python -m bench --shards N` runs phase (a) twice in one invocation, on one database and then on",
    "N local databases as shards (`APP_DB_SHARDS`, customers spread by the hash ring), at the same",
    "offered rate and window, and prints both end-to-end figures side by side; it writes nothing here.",
    "On one box every shard shares the same two cores, the same disk and the same PostgreSQL server, so",
    "it shows that the sharded pipeline is correct end to end (every order of every shard drained,",
    "nothing lost) and what routing costs (one more statement per order placed off the home shard, one",
    "relay loop and one producer per shard, and the inventory saga's second transaction for customers off the home shard).",
    "It does not show write scaling: that needs each shard on its own primary, where each takes only",
    "its share of the writes. Expect the same figure or a little less.",
]
"""Static text: what a sharded run on one box does and does not show."""


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench").mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    record = out / "bench" / f"{stamp}-{results['commit']}.json"
    profile = results.pop("profile", None)
    record.write_text(json.dumps(results, indent=1, default=str) + "\n")
    if profile:
        # Next to the record it belongs to, so an old profile never passes for the current code.
        (out / "bench" / f"{stamp}-{results['commit']}-profile.txt").write_text(str(profile))
    charts = _charts(results, out)
    before, after = results["load_before"], results.get("load_after", ("?", "?", "?"))
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); rerun it to refresh this page. What each phase",
        "does, and why the figures are what they are, is in [app.md](app.md#benchmark).",
        "",
        f"- commit: `{results['commit']}`, run at {results['started']}",
        f"- machine: {results['cores']} cores (`os.cpu_count()`), {os.uname().sysname} {os.uname().release}",
        f"- load average before: {', '.join(f'{x:.2f}' for x in before)}; after: "
        + ", ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in after),
        f"- record: [bench/{record.name}](bench/{record.name})",
        *(
            [
                f"- profile (py-spy, end-to-end phase, 1 replica): [bench/{stamp}-{results['commit']}-profile.txt]"
                f"(bench/{stamp}-{results['commit']}-profile.txt)"
            ]
            if profile
            else []
        ),
        *(
            [
                "",
                f"**The box was busy** (load average {before[0]:.1f} on {results['cores']} cores before the run):"
                " latency and throughput below are mostly CPU queueing. CPU per order (rusage) is the"
                " steadier figure. Rerun `make bench` on a quiet box.",
            ]
            if before[0] > (results["cores"] or 1)
            else []
        ),
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in _rows(results)),
        "",
        *(f"![{name}]({name})" for name in charts),
        "",
        *SHARDED_NOTE,
        "",
    ]
    (out / "benchmarks.md").write_text("\n".join(lines))
