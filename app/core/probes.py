"""/livez, /readyz and /metrics for the non-API processes, on APP_METRICS_PORT.

A few lines of asyncio instead of a web framework: three GET routes need no more.
"""

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadyCheck = Callable[[], Awaitable[bool]]
REQUEST_TIMEOUT_SECONDS = 5.0


async def serve(host: str, port: int, ready: ReadyCheck) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                request_line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                parts = request_line.decode("latin-1").split()
                path = parts[1] if len(parts) > 1 else ""
                if path == "/livez":
                    code, body, kind = 200, b"ok", "text/plain"
                elif path == "/readyz":
                    ok = await ready()
                    code, body, kind = (200, b"ok", "text/plain") if ok else (503, b"not ready", "text/plain")
                elif path == "/metrics":
                    code, body, kind = 200, generate_latest(), CONTENT_TYPE_LATEST
                else:
                    code, body, kind = 404, b"not found", "text/plain"
                head = (
                    f"HTTP/1.1 {code} X\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                writer.write(head.encode() + body)
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
