"""Structured logs: one JSON object per line, tagged with the ids in scope."""

import json
import logging

from app.core.logs import JsonFormatter, log_context


def _format(message: str) -> dict[str, object]:
    record = logging.LogRecord("app.test", logging.INFO, __file__, 1, message, None, None)
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_log_lines_carry_order_and_event_ids_in_scope() -> None:
    with log_context(order_id="o-1", event_id="e-1"):
        line = _format("handled")
    assert (line["msg"], line["order_id"], line["event_id"]) == ("handled", "o-1", "e-1")


def test_log_lines_outside_a_scope_have_no_ids() -> None:
    with log_context(order_id="o-1"):
        pass
    assert "order_id" not in _format("idle")
