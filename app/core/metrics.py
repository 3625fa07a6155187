"""Prometheus metrics shared by every process type (each process exposes its own registry)."""

from prometheus_client import Counter, Gauge, Histogram, Summary

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5),
)
IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being served.")
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published to Kafka.")
CACHE_HITS = Counter("cache_hits_total", "Cache-aside reads served from Redis.", ["kind"])
CACHE_MISSES = Counter("cache_misses_total", "Cache-aside reads that went to the database.", ["kind"])
CACHE_ERRORS = Counter("cache_errors_total", "Redis errors (each opens the circuit breaker).")
CONSUMER_LAG = Gauge("kafka_consumer_lag", "Messages behind the partition end.", ["group", "topic", "partition"])
EVENTS = Counter("events_processed_total", "Events handled by a worker.", ["consumer", "outcome"])
RELAYED = Counter("outbox_published_total", "Outbox rows published to Kafka.")
PARKED = Counter("outbox_parked_total", "Outbox rows parked after too many failed deliveries.")
ORDERS_PLACED = Counter("orders_placed_total", "New orders accepted (idempotent replays not counted).")
ORDER_COMPLETION_SECONDS = Summary(
    "order_completion_seconds",
    "From an order's placement to its final status (fulfilled, payment_failed, out_of_stock).",
    ["status"],
)
"""A summary, not a histogram: the CloudWatch agent's Prometheus support drops histograms but ships a
summary's _sum and _count, so CloudWatch can chart the mean completion time."""
DB_RETRIES = Counter("db_transaction_retries_total", "Transactions retried after the database connection broke.")
DB_UNAVAILABLE = Counter("db_unavailable_total", "Requests answered 503 because the database was unreachable.")
OFFSET_RESETS = Counter(
    "kafka_offset_resets_total",
    "Consumer positions found outside a partition's log (offset out of range, topic recreated).",
    ["group", "topic", "partition", "policy"],
)
