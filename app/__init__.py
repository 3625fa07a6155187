"""E-commerce order pipeline: API, outbox relay and Kafka workers in one package."""
