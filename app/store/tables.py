"""Schema as SQLAlchemy Core tables. Core, not ORM: the hot paths are a few fixed statements."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    # Null until first sign-in; then the identity provider's subject (revision 0004).
    Column("subject", String(255)),
    Column("email", String(254)),
    Column("name", String(200)),
    UniqueConstraint("subject", name="users_subject"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The last line of defence against overselling, whatever the code does.
    CheckConstraint("stock >= 0", name="stock_not_negative"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("idempotency_key", String(255)),
    Column("request_hash", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Keys are scoped per customer so one client cannot collide with another's retries.
    UniqueConstraint("customer_id", "idempotency_key", name="orders_idempotency_key"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    # No foreign key to products (revision 0005): the catalogue is on the home shard only.
    Column("sku", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
)

order_status_history = Table(
    "order_status_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(249), nullable=False),
    Column("key", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    # Failed deliveries (revision 0003); a row parked after too many is no longer claimed.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("parked_at", DateTime(timezone=True)),
    # The relay and the backlog gauge only ever look at unpublished rows.
    Index("outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stock_reservations = Table(
    "stock_reservations",
    metadata,
    # Home shard (revision 0005): what inventory decided for an order, written with the stock
    # decrement, so a redelivery finishes the saga with the same decision and no second decrement.
    Column("order_id", Uuid, primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("sku", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("outcome IN ('reserved', 'short')", name="stock_reservation_outcome"),
)
