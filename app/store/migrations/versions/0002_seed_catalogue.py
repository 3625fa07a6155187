"""Seed demo customers and products with stock, so a fresh stack can take orders.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CUSTOMERS = 100
PRODUCTS = 50
INITIAL_STOCK = 1_000_000


def upgrade() -> None:
    users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("name"))
    products = sa.table(
        "products",
        sa.column("sku"),
        sa.column("name"),
        sa.column("price_cents"),
        sa.column("stock"),
    )
    op.bulk_insert(
        users,
        [
            {"id": f"cust-{n:04d}", "email": f"cust-{n:04d}@example.com", "name": f"Customer {n}"}
            for n in range(1, CUSTOMERS + 1)
        ],
    )
    op.bulk_insert(
        products,
        [
            {
                "sku": f"SKU-{n:04d}",
                "name": f"Product {n}",
                "price_cents": 100 * n,
                "stock": INITIAL_STOCK,
            }
            for n in range(1, PRODUCTS + 1)
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM products WHERE sku LIKE 'SKU-%'")
    op.execute("DELETE FROM users WHERE id LIKE 'cust-%'")
