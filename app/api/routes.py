"""Orders, users and products endpoints."""

import logging
import math
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Header, HTTPException, Path, Request, Response, status
from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api import sync_baseline
from app.api.auth import CustomerDep
from app.api.deps import CacheDep, DatabaseDep, SettingsDep, ShardsDep
from app.api.responses import ORDER_CREATED, SIGNED_IN, not_found
from app.api.schemas import OrderAccepted, OrderBody, OrderRequest, OrderView, ProductPage, ProductView, UserView
from app.core.logs import log_context
from app.core.metrics import ORDERS_PLACED
from app.store import orders
from app.store.cache import PRODUCT_LIST_KEY, order_key, product_key, user_key
from app.store.tables import products, users

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")

# Set on every write; while it lasts, this client's reads go to the primary, not a lagging replica.
READ_PRIMARY_COOKIE = "read_primary_until"
# Another pod may have set the cookie; NTP keeps pods' clocks far closer than this.
CLOCK_SKEW_SECONDS = 1.0
# The demo catalogue has 50 products; a bound keeps one cached value (and one response) small.
PRODUCT_PAGE_LIMIT = 200


@router.post(
    "/orders",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrderAccepted,
    responses=ORDER_CREATED | SIGNED_IN,
)
async def place_order(
    body: OrderBody,
    customer: CustomerDep,
    response: Response,
    http_request: Request,
    shards: ShardsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> OrderAccepted:
    if body.customer_id is not None and body.customer_id != customer:
        # The same answer whether or not that customer exists: ids cannot be probed here either.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "orders can be placed only for the signed-in customer")
    request = OrderRequest(customer_id=customer, currency=body.currency, items=body.items)
    database = shards.for_customer(customer)
    priced = None
    if database is not shards.home:
        # The catalogue is on the home shard: price the lines there (the primary, as the
        # one-shard statement does), then place on the customer's shard.
        skus = [item.sku for item in body.items]
        priced = await shards.home.transact(lambda conn: orders.prices(conn, skus), single_statement=True)
    # One statement, so no BEGIN/COMMIT; with a key, a retry after an unknown outcome finds the
    # first try's order.
    placed = await database.transact(
        lambda conn: orders.place(
            conn, request, topic=settings.topic_orders, idempotency_key=idempotency_key, priced=priced
        ),
        idempotent=idempotency_key is not None,
        single_statement=True,
    )
    if not placed.replayed:
        ORDERS_PLACED.inc()
    if settings.sync_baseline and not placed.replayed:
        await sync_baseline.process_inline(database, http_request.app.state.sync_workers, placed.order_id)
    with log_context(order_id=placed.order_id):
        log.info("order replayed" if placed.replayed else "order placed")
        response.headers["Location"] = f"/api/orders/{placed.order_id}"
        if placed.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        window = settings.read_your_writes_seconds
        response.set_cookie(
            READ_PRIMARY_COOKIE,
            f"{time.time() + window:.3f}",
            max_age=math.ceil(window),
            path="/api",
            httponly=True,
            samesite="lax",
        )
    return OrderAccepted(id=placed.order_id, status=orders.PENDING)


async def _first(conn: AsyncConnection, query: Select[Any]) -> Row[Any] | None:
    return (await conn.execute(query)).first()


def _reads_primary(cookie: str | None, window: float) -> bool:
    """The cookie is client-controlled: honour it only inside the window a write could have set
    (plus a little slack for clock skew between API pods), never `inf` or a far-future time that
    would pin the client's reads to the primary."""
    if cookie is None:
        return False
    try:
        until = float(cookie)
    except ValueError:
        return False
    now = time.time()
    return math.isfinite(until) and now < until <= now + window + CLOCK_SKEW_SECONDS


@router.get("/orders/{order_id}", response_model=OrderView, responses=not_found("order") | SIGNED_IN)
async def get_order(
    order_id: uuid.UUID,
    customer: CustomerDep,
    shards: ShardsDep,
    cache: CacheDep,
    settings: SettingsDep,
    read_primary_until: Annotated[str | None, Cookie()] = None,
) -> dict[str, Any]:
    # The signed-in customer's shard and no other: an order is only ever read by its customer,
    # so routing by customer finds it in one shard without the shard in the id.
    database = shards.for_customer(customer)
    if _reads_primary(read_primary_until, settings.read_your_writes_seconds):
        # Fresh from the primary and no cache: the client just wrote, it must see that write.
        async with database.read(primary=True) as conn:
            found = await orders.load(conn, order_id)
    else:

        async def from_replica() -> dict[str, Any] | None:
            return await database.query(lambda conn: orders.load(conn, order_id))

        found = await cache.get_or_load("order", order_key(order_id), from_replica)
    # Someone else's order is "not found", exactly like a missing one: ids cannot be probed.
    if found is None or found["customer_id"] != customer:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "order not found")
    return found


@router.get("/users/{user_id}", response_model=UserView, responses=not_found("user") | SIGNED_IN)
async def get_user(
    user_id: Annotated[str, Path(max_length=64, examples=["cust-0001"])],
    customer: CustomerDep,
    shards: ShardsDep,
    cache: CacheDep,
) -> dict[str, Any]:
    if user_id != customer:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    database = shards.for_customer(customer)

    async def from_replica() -> dict[str, Any] | None:
        query = select(users.c.id, users.c.email, users.c.name).where(users.c.id == user_id)
        row = await database.query(lambda conn: _first(conn, query))
        return dict(row._mapping) if row else None

    found = await cache.get_or_load("user", user_key(user_id), from_replica)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    return found


@router.get("/products/{sku}", response_model=ProductView, responses=not_found("product"))
async def get_product(
    sku: Annotated[str, Path(max_length=32, examples=["SKU-0001"])], database: DatabaseDep, cache: CacheDep
) -> dict[str, Any]:
    async def from_replica() -> dict[str, Any] | None:
        query = select(products.c.sku, products.c.name, products.c.price_cents, products.c.stock).where(
            products.c.sku == sku
        )
        row = await database.query(lambda conn: _first(conn, query))
        return dict(row._mapping) if row else None

    found = await cache.get_or_load("product", product_key(sku), from_replica)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "product not found")
    return found


@router.get("/products", response_model=ProductPage)
async def list_products(database: DatabaseDep, cache: CacheDep) -> dict[str, Any]:
    """The catalogue for the storefront, cached as one value that stock changes invalidate."""

    async def from_replica() -> dict[str, Any]:
        async with database.read() as conn:
            query = (
                select(products.c.sku, products.c.name, products.c.price_cents, products.c.stock)
                .order_by(products.c.sku)
                .limit(PRODUCT_PAGE_LIMIT)
            )
            rows = (await conn.execute(query)).all()
        return {"items": [dict(row._mapping) for row in rows]}

    found = await cache.get_or_load("products", PRODUCT_LIST_KEY, from_replica)
    return found or {"items": []}
