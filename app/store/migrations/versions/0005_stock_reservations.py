"""Shards: the inventory saga's record of each stock decision, and no catalogue foreign key.

`stock_reservations` (home shard) records, in the same transaction as the stock decrement,
what inventory decided for an order, so a redelivered event finishes the order's side of the
saga on its shard with that decision instead of deciding (and decrementing) again.

`order_items.sku` no longer references `products`: the catalogue lives on the home shard, the
order lines on the customer's, and a foreign key cannot cross databases. Placement still
refuses an unknown SKU (it prices every line from the catalogue first).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_reservations",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("outcome IN ('reserved', 'short')", name="stock_reservation_outcome"),
    )
    op.drop_constraint("order_items_sku_fkey", "order_items", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key("order_items_sku_fkey", "order_items", "products", ["sku"], ["sku"])
    op.drop_table("stock_reservations")
