"""The catalogue endpoint the storefront lists: contents, caching, and invalidation on stock change."""

import pytest
from aiokafka import AIOKafkaProducer
from httpx import AsyncClient
from prometheus_client import REGISTRY

from app.core.settings import Settings
from app.pipeline import inventory
from app.pipeline.worker import Worker
from app.store.cache import Cache
from app.store.db import Database
from tests.app.helpers import envelope_record, new_product, paid_order

pytestmark = pytest.mark.asyncio


def _hits() -> float:
    return REGISTRY.get_sample_value("cache_hits_total", {"kind": "products"}) or 0.0


async def test_product_list_has_price_and_stock_in_sku_order(client: AsyncClient) -> None:
    response = await client.get("/api/products")
    assert response.status_code == 200
    items = response.json()["items"]
    skus = [item["sku"] for item in items]
    assert skus == sorted(skus)
    first = next(item for item in items if item["sku"] == "SKU-0001")
    assert first == {"sku": "SKU-0001", "name": "Product 1", "price_cents": 100, "stock": first["stock"]}
    assert isinstance(first["stock"], int)


async def test_product_list_is_served_from_the_cache_the_second_time(client: AsyncClient) -> None:
    await client.get("/api/products")
    hits = _hits()
    await client.get("/api/products")
    assert _hits() == hits + 1


async def test_stock_reservation_invalidates_the_cached_product_list(
    settings: Settings,
    client: AsyncClient,
    database: Database,
    cache: Cache,
    producer: AIOKafkaProducer,
) -> None:
    sku = await new_product(database, stock=10)

    async def listed_stock() -> int:
        items = (await client.get("/api/products")).json()["items"]
        return int(next(item["stock"] for item in items if item["sku"] == sku))

    assert await listed_stock() == 10
    _, paid = await paid_order(database, settings, sku, quantity=3)
    worker = Worker(inventory.spec(settings), settings, database, cache, producer)
    await worker.process(envelope_record(settings.topic_payments, paid))
    assert await listed_stock() == 7
