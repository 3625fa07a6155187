"""`make chaos`: each fault against the full local pipeline under bounded load, counted.

One stack (app/dev/stack.py: own PostgreSQL + replica, own Redis, a Kafka broker, the API, the
relay and the workers as subprocesses) serves every fault in turn. Per fault: a product of its
own (so stock is counted per fault), `--orders` POSTs from `--concurrency` clients that retry
with the same Idempotency-Key on 503 or a dropped connection (as a client following Retry-After
does), the fault injected a third of the way in and undone, then a wait until every accepted order
is final. Recovery time: from the fault's start until an order placed after it is undone reaches
`fulfilled`. The table goes to stdout and, with `--record`, into docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from app.dev import ledger
from app.dev.stack import Stack

INITIAL_STOCK = 1_000_000
DRAIN_TIMEOUT_SECONDS = 120.0
CLIENT_ATTEMPTS = 60
REPORT = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
CHART = REPORT.with_name("reliability.png")


@dataclass(frozen=True)
class Result:
    fault: str
    count: ledger.Count
    server_errors: int
    dropped: int
    refused: int
    recovery_seconds: float


def _kill_worker(stack: Stack) -> None:
    stack.signal(stack.names("payment")[0], signal.SIGKILL)
    stack.start("payment")


def _add_and_remove_member(stack: Stack) -> None:
    added = stack.start("inventory")
    time.sleep(4)
    stack.stop(stack.names("inventory")[0])
    assert added in stack.processes


def _api_sigterm(stack: Stack) -> None:
    stack.signal(stack.names("api")[0], signal.SIGTERM)
    stack.start("api")
    stack.wait_ready()


def _pause(stop: Callable[[], object], start: Callable[[], object], seconds: float = 3.0) -> Callable[[Stack], None]:
    def fault(stack: Stack) -> None:
        stop()
        time.sleep(seconds)
        start()

    return fault


def faults(stack: Stack) -> dict[str, Callable[[Stack], None]]:
    return {
        "broker kill -9 and restart": lambda s: s.broker.restart(hard=True),
        "worker kill -9 (payment)": _kill_worker,
        "worker member added and removed (inventory)": _add_and_remove_member,
        "PostgreSQL restart (fast)": lambda s: s.pg.restart(),
        "Redis down 3 s": _pause(stack.redis.stop, stack.redis.start),
        "read replica down 3 s": _pause(stack.replica.stop, stack.replica.start),
        "API SIGTERM and restart": _api_sigterm,
    }


class Load:
    def __init__(self, api: str, sku: str, headers: dict[str, str]) -> None:
        self.api = api
        self.sku = sku
        self.headers = headers
        """The signed-in customer's Authorization header, on every request."""
        self.keys: set[str] = set()
        self.accepted: set[uuid.UUID] = set()
        self.server_errors = 0
        self.dropped = 0
        self.refused = 0
        self.sent = 0
        # Without the POST's read-your-writes cookie, so the read goes to the replica and cache.
        self.reader = httpx.AsyncClient(timeout=10, headers=headers)

    async def _read(self, order: uuid.UUID) -> None:
        try:
            response = await self.reader.get(f"{self.api}/api/orders/{order}")
        except httpx.ConnectError:
            self.refused += 1
            return
        except httpx.HTTPError:
            self.dropped += 1
            return
        if response.status_code >= 500:
            self.server_errors += 1

    async def place(self, client: httpx.AsyncClient, key: str | None = None) -> uuid.UUID | None:
        key = key or uuid.uuid4().hex
        self.keys.add(key)
        body = {"customer_id": "cust-0001", "currency": "EUR", "items": [{"sku": self.sku, "quantity": 1}]}
        for _ in range(CLIENT_ATTEMPTS):
            try:
                response = await client.post(f"{self.api}/api/orders", json=body, headers={"Idempotency-Key": key})
            except httpx.ConnectError:
                # Nothing listening (the API restarting): the request never reached it.
                self.refused += 1
                await asyncio.sleep(0.5)
                continue
            except httpx.HTTPError:
                self.dropped += 1
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 202:
                order = uuid.UUID(response.json()["id"])
                self.accepted.add(order)
                await self._read(order)
                return order
            if response.status_code >= 500:
                self.server_errors += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "0.5")))
                continue
            raise RuntimeError(f"order rejected: {response.status_code} {response.text}")
        return None

    async def run(self, orders: int, concurrency: int) -> None:
        async with httpx.AsyncClient(timeout=10, headers=self.headers) as client:

            async def one_client() -> None:
                while self.sent < orders:
                    self.sent += 1
                    await self.place(client)

            await asyncio.gather(*(one_client() for _ in range(concurrency)))


async def _new_product(dsn: str) -> str:
    sku = f"CHAOS-{uuid.uuid4().hex[:8].upper()}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, 'chaos', 100, $2)", sku, INITIAL_STOCK
        )
    finally:
        await conn.close()
    return sku


async def _wait_final(dsn: str, orders: set[uuid.UUID], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() < deadline:
            done = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE id = ANY($1) AND status = $2", list(orders), ledger.FINAL
            )
            if done == len(orders):
                return
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def run_fault(stack: Stack, name: str, inject: Callable[[Stack], None], orders: int, concurrency: int) -> Result:
    dsn = f"postgresql://postgres@127.0.0.1:{stack.pg.port}/orders"
    sku = await _new_product(dsn)
    load = Load(stack.api, sku, stack.auth_headers())
    recovery: list[float] = []

    async def fault() -> None:
        while load.sent < orders // 3:
            await asyncio.sleep(0.05)
        started = time.monotonic()
        await asyncio.to_thread(inject, stack)
        async with httpx.AsyncClient(timeout=10, headers=load.headers) as client:
            probe = await load.place(client)
        if probe is not None:
            await _wait_final(dsn, {probe}, DRAIN_TIMEOUT_SECONDS)
        recovery.append(time.monotonic() - started)

    await asyncio.gather(load.run(orders, concurrency), fault())
    await _wait_final(dsn, load.accepted, DRAIN_TIMEOUT_SECONDS)
    counted = await ledger.count(dsn, sku, INITIAL_STOCK, load.keys, load.accepted)
    await load.reader.aclose()
    return Result(name, counted, load.server_errors, load.dropped, load.refused, recovery[0])


def table(results: list[Result]) -> str:
    header = (
        "| fault | orders accepted | orders final | stuck | lost | doubled | 5xx "
        "| dropped mid-request | refused (no listener) | recovery (s) |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r.count
        lines.append(
            f"| {r.fault} | {c.accepted} | {c.final} | {c.stuck} | {c.lost} | {c.doubled} | {r.server_errors} "
            f"| {r.dropped} | {r.refused} | {r.recovery_seconds:.1f} |"
        )
    return "\n".join(lines)


def chart(results: list[Result], path: Path = CHART) -> None:
    """Per fault: how long the pipeline took to drain again, and what clients saw (accepted and
    final orders, 5xx and dropped requests), with lost and doubled written on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.fault for r in results]
    rows = range(len(results))
    figure, (recovery, orders) = plt.subplots(1, 2, figsize=(12, 0.6 * len(results) + 1.6), sharey=True)
    recovery.barh(rows, [r.recovery_seconds for r in results], color="#4c72b0")
    recovery.set_yticks(list(rows), names)
    recovery.invert_yaxis()
    recovery.set_xlabel("recovery: fault undone to every order final (s)")
    height = 0.4
    orders.barh(
        [y - height / 2 for y in rows], [r.count.accepted for r in results], height, label="accepted", color="#55a868"
    )
    orders.barh(
        [y + height / 2 for y in rows], [r.count.final for r in results], height, label="final", color="#8172b3"
    )
    for y, r in zip(rows, results, strict=True):
        note = f"lost {r.count.lost} · doubled {r.count.doubled} · 5xx {r.server_errors} · dropped {r.dropped}"
        orders.text(r.count.accepted * 0.02, y + height / 2, note, va="center", fontsize=8, color="white")
    orders.set_xlabel("orders")
    orders.legend(loc="lower right", fontsize=8)
    figure.suptitle("make chaos: every fault under load, counted from the database")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def record(results: list[Result], command: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else ""
    begin, end = "<!-- chaos-table:begin -->", "<!-- chaos-table:end -->"
    block = f"{begin}\nGenerated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:\n\n{table(results)}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text + "\n" + block + "\n"
    REPORT.write_text(text)
    chart(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="orders per fault (default 300)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--replicas", type=int, default=1, help="processes per worker kind, one consumer group each")
    parser.add_argument("--only", action="append", default=[], help="run faults whose name contains this")
    parser.add_argument("--record", action="store_true", help="write the table into docs/reliability.md")
    args = parser.parse_args(argv)
    results: list[Result] = []
    with Stack(workers_per_kind=args.replicas) as stack:
        print(f"stack up; logs in {stack.logs}", flush=True)
        for name, inject in faults(stack).items():
            if args.only and not any(part in name for part in args.only):
                continue
            result = asyncio.run(run_fault(stack, name, inject, args.orders, args.concurrency))
            results.append(result)
            print(table([result]).splitlines()[-1], flush=True)
    print(table(results))
    if args.record:
        record(results, f"python -m app.dev.chaos --orders {args.orders} --replicas {args.replicas}")
    bad = [r.fault for r in results if r.count.lost or r.count.doubled or r.count.stuck]
    if bad:
        print(f"lost, doubled or stuck orders under: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
