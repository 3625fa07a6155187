"""API benchmark: `python tests/benchmarks/bench_api.py [--posts N] [--gets N] [--concurrency N]`.

Runs `python -m app api` under uvicorn on 127.0.0.1 against a throwaway PostgreSQL database and
Redis logical database 14 (flushed), then measures, from a client on the same machine:
  1. POST /api/orders (each with its own Idempotency-Key);
  2. a hot-key read mix: GET products and users (80% of reads on a few hot keys) and orders.
Prints p50/p95/p99 latency, throughput and the cache hit ratio from the API's /metrics.
Not collected by pytest (the file name does not start with test_). Kafka is not needed: the
API only writes the outbox.
"""

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import redis

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.dev.issuer import LocalIssuer  # noqa: E402  (the repo root is put on the path first)

ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = "redis://127.0.0.1:6379/14"
HOT_PRODUCTS = [f"SKU-{n:04d}" for n in range(1, 6)]
ALL_PRODUCTS = [f"SKU-{n:04d}" for n in range(1, 51)]
HOT_USERS = [f"cust-{n:04d}" for n in range(1, 11)]
ALL_USERS = [f"cust-{n:04d}" for n in range(1, 101)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def admin(statement: str, dsn: str = ADMIN_DSN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=1000, method="inclusive")[int(q * 10) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the API process: unlike latency, barely skewed by other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_phase(
    name: str, total: int, concurrency: int, request: Callable[[int], Awaitable[int]], pid: int
) -> None:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            start = time.perf_counter()
            status = await request(i)
            latencies.append(time.perf_counter() - start)
            errors += status >= 400

    began, cpu_before = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cpu_ms = (cpu_seconds(pid) - cpu_before) / total * 1000
    ms = [s * 1000 for s in latencies]
    print(
        f"{name:<10} n={total:<6} c={concurrency:<3} {total / elapsed:8.0f} req/s   "
        f"p50={percentile(ms, 50):6.2f} ms  p95={percentile(ms, 95):6.2f} ms  "
        f"p99={percentile(ms, 99):6.2f} ms  api-cpu/req={cpu_ms:.2f} ms  errors={errors}"
    )


def cache_counts(metrics: str) -> tuple[float, float]:
    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", metrics, re.M))

    return total("cache_hits_total"), total("cache_misses_total")


async def bench(base: str, pid: int, posts: int, gets: int, concurrency: int, issuer: LocalIssuer) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # One token per customer, minted up front: each customer reads only its own records.
    tokens = {user: issuer.headers(user) for user in ALL_USERS}
    orders: list[tuple[str, str]] = []
    # Two clients: the writer keeps the read-your-writes cookie, the reader (like most
    # visitors) has none and is served through the cache.
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as writer,
        httpx.AsyncClient(base_url=base, limits=limits, timeout=10, cookies=None) as reader,
    ):

        async def post(_: int) -> int:
            skus = random.sample(ALL_PRODUCTS, random.randint(1, 3))
            customer = random.choice(ALL_USERS)
            body = {"currency": "EUR", "items": [{"sku": s, "quantity": random.randint(1, 3)} for s in skus]}
            headers = tokens[customer] | {"Idempotency-Key": uuid.uuid4().hex}
            response = await writer.post("/api/orders", json=body, headers=headers)
            if response.status_code == 202:
                orders.append((response.json()["id"], customer))
            return response.status_code

        async def read(_: int) -> int:
            reader.cookies.clear()
            roll = random.random()
            headers: dict[str, str] = {}
            if roll < 0.6:
                pool = HOT_PRODUCTS if random.random() < 0.8 else ALL_PRODUCTS
                path = f"/api/products/{random.choice(pool)}"
            elif roll < 0.9:
                user = random.choice(HOT_USERS if random.random() < 0.8 else ALL_USERS)
                path, headers = f"/api/users/{user}", tokens[user]
            else:
                order_id, owner = random.choice(orders[:50])
                path, headers = f"/api/orders/{order_id}", tokens[owner]
            return (await reader.get(path, headers=headers)).status_code

        await run_phase("warm-up", 200, concurrency, post, pid)
        await run_phase("POST", posts, concurrency, post, pid)
        hits0, misses0 = cache_counts((await reader.get("/metrics")).text)
        await run_phase("GET mix", gets, concurrency, read, pid)
        hits1, misses1 = cache_counts((await reader.get("/metrics")).text)
    hits, misses = hits1 - hits0, misses1 - misses0
    print(f"cache hit ratio (GET mix): {hits / (hits + misses):.1%} ({hits:.0f} hits, {misses:.0f} misses)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--gets", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    name = f"bench_{uuid.uuid4().hex[:8]}"
    port = free_port()
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_DB_WRITER_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        "APP_DB_SSL": "disable",
        "APP_REDIS_URL": REDIS_URL,
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "APP_LOG_LEVEL": "WARNING",
    }
    issuer = LocalIssuer().start()
    env |= {"APP_AUTH_ISSUER": issuer.issuer, "APP_AUTH_CLIENT_ID": issuer.client_id, "APP_AUTH_LOCAL_DEV": "true"}
    api: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "-m", "app", "migrate"],
            cwd=REPO,
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
        )
        linked = "UPDATE users SET subject = id WHERE id LIKE 'cust-%'"
        asyncio.run(admin(linked, env["APP_DB_WRITER_URL"].replace("+asyncpg", "")))
        api = subprocess.Popen([sys.executable, "-m", "app", "api"], cwd=REPO, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        print(f"API on 127.0.0.1:{port}; {os.cpu_count()} CPUs for API, client, PostgreSQL, Redis")
        # Other work on the box skews every figure: print the load next to them.
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        asyncio.run(bench(f"http://127.0.0.1:{port}", api.pid, args.posts, args.gets, args.concurrency, issuer))
        print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        if api is not None:
            api.terminate()
            api.wait(20)
        issuer.close()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
