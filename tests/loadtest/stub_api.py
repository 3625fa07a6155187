"""A deliberately broken stand-in for the API, to show the load test fails when it should.

``python -m tests.loadtest.stub_api --port P [--delay S] [--lose-every N]``: orders are accepted
(after ``--delay`` seconds) and final at once; with ``--lose-every N`` every Nth order is
forgotten, so reading it back answers 404. Loopback only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORDERS: dict[str, str] = {}
COUNTER = itertools.count(1)
LOCK = threading.Lock()


def handler(delay: float, lose_every: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            order_id = str(uuid.uuid4())
            with LOCK:
                n = next(COUNTER)
                if not lose_every or n % lose_every:
                    ORDERS[order_id] = "fulfilled"
            self._send(202, {"id": order_id, "status": "pending"})

        def do_GET(self) -> None:
            if self.path.startswith("/api/products/"):
                self._send(200, {"sku": self.path.rsplit("/", 1)[-1], "price_cents": 100})
            elif self.path.startswith("/api/orders/") and self.path.rsplit("/", 1)[-1] in ORDERS:
                self._send(200, {"id": self.path.rsplit("/", 1)[-1], "status": "fulfilled"})
            else:
                self._send(404, {"detail": "not found"})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--lose-every", type=int, default=0)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.delay, args.lose_every)).serve_forever()


if __name__ == "__main__":
    main()
