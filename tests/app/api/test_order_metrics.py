"""The pipeline's business metrics, which the collector ships to CloudWatch for the dashboard."""

import pytest
from aiokafka import AIOKafkaProducer
from httpx import AsyncClient
from prometheus_client import REGISTRY

from app.core.settings import Settings
from app.pipeline import fulfillment
from app.pipeline.worker import Worker
from app.store.cache import Cache
from app.store.db import Database
from tests.app.helpers import envelope_record, order_body, reserved_order

pytestmark = pytest.mark.asyncio


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_new_order_counts_once_and_its_idempotent_replay_not_at_all(client: AsyncClient) -> None:
    before = sample("orders_placed_total")
    headers = {"Idempotency-Key": "metrics-1"}
    first = await client.post("/api/orders", json=order_body(), headers=headers)
    replay = await client.post("/api/orders", json=order_body(), headers=headers)
    assert first.status_code == replay.status_code == 202
    assert sample("orders_placed_total") == before + 1


async def test_the_worker_that_makes_an_order_final_observes_its_completion_time(
    settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer
) -> None:
    count = sample("order_completion_seconds_count", status="fulfilled")
    total = sample("order_completion_seconds_sum", status="fulfilled")
    _order_id, event = await reserved_order(database, settings, "SKU-0001")
    worker = Worker(fulfillment.spec(settings), settings, database, cache, producer)
    await worker.process(envelope_record(settings.topic_inventory, event))
    assert sample("order_completion_seconds_count", status="fulfilled") == count + 1
    assert sample("order_completion_seconds_sum", status="fulfilled") >= total
