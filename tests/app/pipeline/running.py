"""The relay and workers as tasks in the test's own event loop, over one database or several shards."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.core.settings import Settings
from app.pipeline.kafka import make_consumer, make_producer
from app.pipeline.relay import Relay
from app.pipeline.worker import Worker, WorkerSpec
from app.store.cache import Cache
from app.store.db import Database
from app.store.routing import Shards

STOP_TIMEOUT_SECONDS = 10.0


@asynccontextmanager
async def running_workers(
    settings: Settings, store: Database | Shards, cache: Cache, *specs: WorkerSpec
) -> AsyncIterator[None]:
    """Workers' consumer loops as tasks, stopped and awaited (bounded) on exit.

    Started together, so they join their groups at once."""
    producer = make_producer(settings)
    consumers = [make_consumer(settings, spec.name, spec.topics) for spec in specs]
    await producer.start()
    await asyncio.gather(*(consumer.start() for consumer in consumers))
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(Worker(spec, settings, store, cache, producer).run(consumer, stop))
        for spec, consumer in zip(specs, consumers, strict=True)
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), STOP_TIMEOUT_SECONDS)
        await asyncio.gather(*(consumer.stop() for consumer in consumers))
        await producer.stop()


@asynccontextmanager
async def running_relay(settings: Settings, store: Database | Shards) -> AsyncIterator[Relay]:
    relay = Relay(settings, store)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
