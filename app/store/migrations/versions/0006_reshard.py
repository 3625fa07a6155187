"""Resharding: the routing overlay, fences on a moving customer, and each move's recorded step.

`customer_shards` (read on the home shard) says where a moved customer lives until the ring
itself includes the new shard. `customer_fences` (on the source shard) holds a customer still
being moved: in phase `drain` the trigger refuses only new orders, so in-flight orders finish; in
phase `frozen` it refuses every write of the customer's rows, so nothing lands on the source
between the copy and the delete. Both refusals raise SQLSTATE WSF01, which callers treat as
"retry shortly". `reshard_moves` (on the home shard) records how far each move got, so a rerun
resumes there. Every shard gets all three tables; only the home shard's overlay and moves are read.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GUARDED = ("users", "orders", "order_items", "order_status_history", "notifications", "shipments")

REFUSE_FENCED = """
CREATE FUNCTION reshard_refuse_fenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text;
    fence record;
BEGIN
    -- The common case (no move under way) costs one look at an empty table.
    IF NOT EXISTS (SELECT 1 FROM customer_fences) THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'orders' THEN
        who := NEW.customer_id;
    ELSIF TG_TABLE_NAME = 'users' THEN
        who := NEW.id;
    ELSE
        SELECT o.customer_id INTO who FROM orders o WHERE o.id = NEW.order_id;
    END IF;
    SELECT f.phase, f.target INTO fence FROM customer_fences f WHERE f.customer_id = who;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF fence.phase = 'frozen' OR (TG_TABLE_NAME = 'orders' AND TG_OP = 'INSERT') THEN
        RAISE EXCEPTION 'customer % is moving to shard %: retry shortly', who, fence.target
            USING ERRCODE = 'WSF01';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "customer_shards",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("shard", sa.String(31), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "customer_fences",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(31), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False, server_default="drain"),
        sa.Column("fenced_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("phase IN ('drain', 'frozen')", name="customer_fences_phase"),
    )
    op.create_table(
        "reshard_moves",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(31), nullable=False),
        sa.Column("target", sa.String(31), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute(REFUSE_FENCED)
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_fenced BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION reshard_refuse_fenced()"
        )


def downgrade() -> None:
    for table in GUARDED:
        op.execute(f"DROP TRIGGER {table}_refuse_fenced ON {table}")
    op.execute("DROP FUNCTION reshard_refuse_fenced()")
    op.drop_table("reshard_moves")
    op.drop_table("customer_fences")
    op.drop_table("customer_shards")
