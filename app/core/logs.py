"""Structured JSON logs; order_id and event_id travel in context variables."""

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_order_id: ContextVar[str | None] = ContextVar("order_id", default=None)
_event_id: ContextVar[str | None] = ContextVar("event_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (("order_id", _order_id), ("event_id", _event_id)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


@contextmanager
def log_context(*, order_id: object = None, event_id: object = None) -> Iterator[None]:
    """Tag every log line inside the block (including library logs) with the ids."""
    order_token = _order_id.set(str(order_id) if order_id else _order_id.get())
    event_token = _event_id.set(str(event_id) if event_id else _event_id.get())
    try:
        yield
    finally:
        _order_id.reset(order_token)
        _event_id.reset(event_token)
