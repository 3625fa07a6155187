"""PostgreSQL and Redis: engines and routing, schema and migrations, order records, outbox, cache."""
