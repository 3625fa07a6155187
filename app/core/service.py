"""Shared harness of the non-API processes: signals, probes server, graceful stop."""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from app.core import probes
from app.core.settings import Settings

log = logging.getLogger(__name__)
Body = Callable[[asyncio.Event], Awaitable[None]]


async def run(settings: Settings, body: Body, ready: probes.ReadyCheck) -> None:
    """Run `body` until SIGTERM/SIGINT sets the stop event; it must return soon after."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await probes.serve(settings.host, settings.metrics_port, ready)
    try:
        await body(stop)
    finally:
        server.close()
        await server.wait_closed()
        log.info("stopped")


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """Exponential backoff, capped: 1 -> base, 2 -> 2*base, ..."""
    delay_ms = settings.consumer_backoff_base_ms * 2.0 ** (attempt - 1)
    return min(delay_ms, settings.consumer_backoff_max_ms) / 1000
