"""Redis cache-aside with stampede protection and a circuit breaker.

A miss is filled once: callers in this process share one load (single-flight), and pods
race for a short Redis lock; the losers poll the key briefly instead of querying the database.
Any Redis error opens the breaker and reads go straight to the database for a while.

A fill never stores a value older than the last invalidation. The classic cache-aside race
(a reader loads the old row, a writer commits and deletes the key, the reader then stores the
old row until the TTL) is closed by a generation counter the invalidation bumps: the fill
stores its value only if the generation it saw before loading is still current. A short fence
after each invalidation also keeps out fills that read a replica still behind the write.
The companion keys share the value key's hash slot (`{key}:gen`), for cluster mode.
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlparse, urlunparse

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from app.core.aws_auth import ElastiCacheIAMProvider
from app.core.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES
from app.core.settings import Settings

log = logging.getLogger(__name__)

Loader = Callable[[], Awaitable[dict[str, Any] | None]]
LOCK_POLL_SECONDS = 0.02

# KEYS: value, generation, fence. ARGV: generation seen before loading, value, TTL in seconds.
_STORE_IF_CURRENT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def _generation(key: str) -> str:
    return f"{{{key}}}:gen"


def _fence(key: str) -> str:
    return f"{{{key}}}:fence"


def _lock(key: str) -> str:
    return f"{{{key}}}:lock"


def make_redis(settings: Settings) -> Redis:
    kwargs: dict[str, Any] = {
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
        # No client-side retries: the breaker decides, and a retry doubles the cost of an outage.
        "retry": Retry(NoBackoff(), 0),
    }
    url = settings.redis_url
    if settings.redis_auth == "iam":
        parsed = urlparse(url)
        kwargs["credential_provider"] = ElastiCacheIAMProvider(
            user=unquote(parsed.username or ""),
            replication_group_id=settings.redis_replication_group_id or "",
            region=settings.aws_region or "",
        )
        # The user lives only in the provider: redis-py refuses a URL username (or password)
        # next to a credential provider, on every connection.
        url = urlunparse(parsed._replace(netloc=parsed.netloc.rpartition("@")[2]))
    return Redis.from_url(url, **kwargs)


class Cache:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self._open_until = 0.0
        self._inflight: dict[str, asyncio.Task[dict[str, Any] | None]] = {}
        self._store_if_current = redis.register_script(_STORE_IF_CURRENT)

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def _trip(self, exc: Exception) -> None:
        CACHE_ERRORS.inc()
        log.warning("redis unavailable, bypassing the cache: %r", exc)
        self._open_until = time.monotonic() + self.settings.cache_breaker_seconds

    async def get_or_load(self, kind: str, key: str, loader: Loader) -> dict[str, Any] | None:
        if not self.settings.cache_enabled or not self.available:
            CACHE_MISSES.labels(kind).inc()
            return await loader()
        try:
            cached = await self.redis.get(key)
        except RedisError as exc:
            self._trip(exc)
            CACHE_MISSES.labels(kind).inc()
            return await loader()
        if cached is not None:
            CACHE_HITS.labels(kind).inc()
            result: dict[str, Any] = json.loads(cached)
            return result
        CACHE_MISSES.labels(kind).inc()
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._fill(key, loader))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        # Shielded: one cancelled caller must not cancel the load the others are waiting on.
        return await asyncio.shield(task)

    async def _fill(self, key: str, loader: Loader) -> dict[str, Any] | None:
        token = uuid.uuid4().hex
        lock = _lock(key)
        try:
            if not await self.redis.set(lock, token, nx=True, px=self.settings.cache_lock_ms):
                found = await self._wait_for_other_pod(key)
                if found is not None:
                    return found
            generation = await self.redis.get(_generation(key)) or b""
        except RedisError as exc:
            self._trip(exc)
            return await loader()
        value = await loader()
        try:
            if value is not None:
                await self._store_if_current(
                    keys=[key, _generation(key), _fence(key)],
                    args=[generation, json.dumps(value), self.settings.cache_ttl_seconds],
                )
            if await self.redis.get(lock) == token.encode():
                await self.redis.delete(lock)
        except RedisError as exc:
            self._trip(exc)
        return value

    async def _wait_for_other_pod(self, key: str) -> dict[str, Any] | None:
        """Poll while another pod holds the lock; give up (and query) when the lock expires."""
        deadline = time.monotonic() + self.settings.cache_lock_ms / 1000
        while time.monotonic() < deadline:
            await asyncio.sleep(LOCK_POLL_SECONDS)
            cached = await self.redis.get(key)
            if cached is not None:
                found: dict[str, Any] = json.loads(cached)
                return found
            if not await self.redis.exists(_lock(key)):
                # The holder may have written the value just before releasing: look once more.
                cached = await self.redis.get(key)
                return json.loads(cached) if cached is not None else None
        return None

    async def invalidate(self, *keys: str) -> None:
        """Best effort after the database commit; the TTL bounds staleness if Redis is away.

        Bumps each key's generation (so fills already under way do not store what they
        loaded), fences it briefly (so fills reading a lagging replica do not either), and
        deletes the value.

        Always attempted, even while the breaker is open: the breaker protects reads from a slow
        Redis, but a skipped invalidation leaves a stale value for the whole TTL.
        """
        if not keys:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.incr(_generation(key))
                # Outlives any fill that could have read the old generation; then it may go.
                pipe.expire(_generation(key), self.settings.cache_ttl_seconds)
                pipe.set(_fence(key), 1, px=self.settings.cache_fence_ms)
                pipe.delete(key)
            await pipe.execute()
        except RedisError as exc:
            self._trip(exc)


def order_key(order_id: object) -> str:
    return f"order:{order_id}"


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def product_key(sku: str) -> str:
    return f"product:{sku}"


PRODUCT_LIST_KEY = "products"
"""The catalogue page: invalidated with each product whose stock changes."""
