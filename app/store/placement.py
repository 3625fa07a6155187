"""Order placement as one SQL statement: a single round trip, atomic on its own.

The idempotency lookup, the customer and price checks, the order, its lines, its first history
row and the OrderPlaced outbox row are CTEs of one statement. PostgreSQL runs every
data-modifying CTE exactly once, and the statement commits or fails as a whole, so the order and
its event still land together. The statement reports what it found, and `orders.place` turns
that into a replay, an error, or the new order. The benchmark runs the same text in pgbench.
"""

from sqlalchemy import text

_LOCAL_PRICES = """priced AS (
    SELECT w.line_no, w.sku, w.quantity, p.price_cents
    FROM wanted w JOIN products p ON p.sku = w.sku
),"""

# Every input is named once, in `args`, so the benchmark can substitute pgbench expressions.
PLACE_ORDER_SQL = """\
WITH args AS (
    SELECT CAST(:order_id AS uuid) AS order_id,
           CAST(:event_id AS uuid) AS event_id,
           CAST(:customer_id AS varchar) AS customer_id,
           CAST(:idempotency_key AS varchar) AS idempotency_key,
           CAST(:request_hash AS varchar) AS request_hash,
           CAST(:currency AS varchar) AS currency,
           CAST(:topic AS varchar) AS topic,
           CAST(:occurred_at AS varchar) AS occurred_at,
           CAST(:skus AS varchar[]) AS skus,
           CAST(:quantities AS integer[]) AS quantities
),
existing AS (
    SELECT o.id, o.request_hash FROM orders o, args a
    WHERE o.customer_id = a.customer_id AND o.idempotency_key = a.idempotency_key
),
customer AS (
    SELECT u.id FROM users u, args a WHERE u.id = a.customer_id
),
wanted AS (
    SELECT w.line_no::integer AS line_no, w.sku, w.quantity
    FROM args a, unnest(a.skus, a.quantities) WITH ORDINALITY AS w(sku, quantity, line_no)
),
priced AS (
    SELECT w.line_no, w.sku, w.quantity, p.price_cents
    FROM wanted w JOIN products p ON p.sku = w.sku
),
accepted AS (
    SELECT a.*, (SELECT sum(p.price_cents * p.quantity) FROM priced p)::bigint AS total_cents
    FROM args a
    WHERE NOT EXISTS (SELECT 1 FROM existing)
      AND EXISTS (SELECT 1 FROM customer)
      AND (SELECT count(*) FROM priced) = (SELECT count(*) FROM wanted)
),
new_order AS (
    INSERT INTO orders (id, customer_id, status, currency, total_cents, idempotency_key, request_hash)
    SELECT order_id, customer_id, 'pending', currency, total_cents, idempotency_key,
           CASE WHEN idempotency_key IS NULL THEN NULL ELSE request_hash END
    FROM accepted
    -- A concurrent request with the same key waits on the unique index, then inserts nothing.
    ON CONFLICT ON CONSTRAINT orders_idempotency_key DO NOTHING
    RETURNING id
),
new_lines AS (
    INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price_cents)
    SELECT o.id, p.line_no, p.sku, p.quantity, p.price_cents FROM new_order o CROSS JOIN priced p
),
new_history AS (
    INSERT INTO order_status_history (order_id, status) SELECT id, 'pending' FROM new_order
),
new_event AS (
    INSERT INTO outbox (event_id, topic, key, event_type, payload)
    SELECT a.event_id, a.topic, o.id::text, 'OrderPlaced',
           jsonb_build_object(
               'version', 1,
               'event_id', a.event_id,
               'order_id', o.id,
               'customer_id', a.customer_id,
               'occurred_at', a.occurred_at,
               'event', jsonb_build_object(
                   'type', 'OrderPlaced',
                   'customer_id', a.customer_id,
                   'currency', a.currency,
                   'total_cents', a.total_cents,
                   'items', (
                       SELECT jsonb_agg(
                           jsonb_build_object('sku', p.sku, 'quantity', p.quantity, 'unit_price_cents', p.price_cents)
                           ORDER BY p.line_no
                       )
                       FROM priced p
                   )
               )
           )
    FROM new_order o, accepted a
)
SELECT
    (SELECT id FROM existing) AS existing_id,
    (SELECT request_hash FROM existing) AS existing_hash,
    EXISTS (SELECT 1 FROM customer) AS customer_known,
    ARRAY(
        SELECT w.line_no FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM priced p WHERE p.line_no = w.line_no)
        ORDER BY w.line_no
    ) AS unknown_lines,
    (SELECT id FROM new_order) AS created_id
"""

PLACE_ORDER = text(PLACE_ORDER_SQL)
"""For a customer on the home shard, where the catalogue is: prices are read in the statement."""

PLACE_ORDER_PRICED = text(
    PLACE_ORDER_SQL.replace(
        _LOCAL_PRICES,
        """priced AS (
    SELECT w.line_no, w.sku, w.quantity, p.price_cents
    FROM wanted w
    JOIN unnest(CAST(:price_skus AS varchar[]), CAST(:price_cents AS bigint[])) AS p(sku, price_cents)
      ON p.sku = w.sku
),""",
    )
)
"""For a customer on another shard: the prices come in as arrays, read from the home shard's
catalogue just before (one more round trip); a SKU missing there is an unknown line as before."""
