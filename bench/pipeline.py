"""End-to-end throughput: orders placed by wrk, counted as they reach a terminal status."""

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import load
from bench.stack import Stack

SAMPLE_SECONDS = 1.0


@dataclass
class EndToEnd:
    replicas: int
    offered_rate: float
    window_seconds: float
    completed_in_window: int
    placed: int
    drained: bool
    lost: int
    """Orders not terminal after the drain timeout (0 when drained)."""
    post: load.Result
    backlog_growth: int = 0
    """Orders placed minus orders finished inside the window: ~0 in a steady state."""
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    """(seconds since the load started, orders, terminal orders), once a second."""
    cpu_ms_per_order: dict[str, float] = field(default_factory=dict)
    """CPU per order completed, per process (replicas summed by role), the broker and PostgreSQL,
    over the whole run including the drain."""

    @property
    def projected_per_minute(self) -> float:
        """Orders/min if every core of the box did nothing but this pipeline: cores x 60 s over
        the CPU one order costs. What a quiet box would reach if CPU is the limit."""
        total = sum(self.cpu_ms_per_order.values())
        return (os.cpu_count() or 1) * 60_000 / total if total else 0.0

    @property
    def per_minute(self) -> float:
        return self.completed_in_window * 60 / self.window_seconds if self.window_seconds else 0.0


class _Sampler(threading.Thread):
    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.began = time.monotonic()
        self.samples: list[tuple[float, int, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            total, done = self.stack.counts()
            self.samples.append((time.monotonic() - self.began, total, done))
            self.halt.wait(SAMPLE_SECONDS)


def run(
    stack: Stack,
    workdir: Path,
    *,
    replicas: int,
    rate: float,
    warmup: float,
    window: float,
    drain_timeout: float,
    connections: int = 32,
) -> EndToEnd:
    """Offer `rate` orders/s for warmup + window seconds; count completions inside the window."""
    _, done_before = stack.counts()
    placed_before, _ = stack.counts()
    cpu_before = stack.cpu()
    sampler = _Sampler(stack)
    sampler.start()
    post = load.post_orders(
        workdir,
        f"http://127.0.0.1:{stack.api_port}",
        stack.tokens,
        seconds=warmup + window,
        connections=connections,
        rate=rate,
    )
    drained = stack.drain(drain_timeout)
    sampler.halt.set()
    sampler.join()
    samples = [(t, total - placed_before, done - done_before) for t, total, done in sampler.samples]
    inside = [s for s in samples if warmup <= s[0] <= warmup + window]
    completed = inside[-1][2] - inside[0][2] if len(inside) >= 2 else 0
    placed_inside = inside[-1][1] - inside[0][1] if len(inside) >= 2 else 0
    measured = inside[-1][0] - inside[0][0] if len(inside) >= 2 else 0.0
    total, done = stack.counts()
    cpu_after = stack.cpu()
    roles: dict[str, float] = {}
    for name, seconds in cpu_after.items():
        role = name.rsplit("-", 1)[0] if name[-1].isdigit() else name
        roles[role] = roles.get(role, 0.0) + seconds - cpu_before.get(name, 0.0)
    finished = max(1, done - done_before)
    return EndToEnd(
        cpu_ms_per_order={role: round(1000 * seconds / finished, 3) for role, seconds in roles.items()},
        replicas=replicas,
        offered_rate=rate,
        window_seconds=measured,
        completed_in_window=completed,
        placed=total - placed_before,
        drained=drained,
        lost=total - done,
        post=post,
        samples=samples,
        backlog_growth=placed_inside - completed,
    )
