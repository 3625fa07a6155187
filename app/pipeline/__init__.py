"""Kafka: event schemas, topics, the outbox relay and the workers."""
