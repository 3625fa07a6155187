"""`python -m bench --shards N`: phase (a) on one database, then on N local databases as shards.

Both runs in one invocation, same offered rate and window, one after the other on the same box:
the one-shard run is the reference the sharded figure is read against. What this can and cannot
show on one box is in docs/benchmarks.md ("Sharded mode").
"""

from pathlib import Path
from typing import Any

from bench import pipeline, report
from bench.stack import Stack


def run(workdir: Path, *, shards: int, partitions: int, rate: float, window: float) -> list[dict[str, Any]]:
    """One end-to-end record per shard count (1, then `shards`), each with its `shards`."""
    records: list[dict[str, Any]] = []
    for count in (1, shards):
        where = workdir / f"shards-{count}"
        where.mkdir(parents=True, exist_ok=True)
        stack = Stack(where, partitions, shards=count)
        try:
            stack.start()
            stack.launch("api", "api")
            stack.pipeline()
            print(f"bench (a): end to end on {count} shard(s), {rate:.0f} orders/s offered", flush=True)
            e2e = pipeline.run(stack, where, replicas=1, rate=rate, warmup=5, window=window, drain_timeout=300)
        finally:
            stack.close()
        records.append(report.e2e_record(e2e) | {"shards": count})
    return records


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| shards | orders/min reaching a final status | placed | drained | lost | CPU ms per order |",
        "|---|---|---|---|---|---|",
    ]
    for record in records:
        cpu = sum(record["cpu_ms_per_order"].values())
        lines.append(
            f"| {record['shards']} | {record['per_minute']} | {record['placed']} | {record['drained']} "
            f"| {record['lost']} | {cpu:.1f} |"
        )
    return "\n".join(lines)
