"""Serve the built storefront from the API process, for `make app` and the browser tests.

In production the bucket behind CloudFront serves these files; this mirrors it: the same bytes,
``Cache-Control`` and Content-Security-Policy, and ``/`` answers with ``index.html`` as the
distribution's default root object does.
"""

from fastapi import FastAPI, HTTPException, Response, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.site import CONTENT_SECURITY_POLICY, INDEX, build

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
"""What the CloudFront response-headers policy adds to every response, CSP from one source."""


class SecurityHeaders:
    """Adds ``HEADERS`` to every response, as the distribution's response-headers policy does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, add if scope["type"] == "http" else send)


def mount(app: FastAPI) -> None:
    assets = {asset.path: asset for asset in build()}

    def answer(path: str) -> Response:
        asset = assets.get(path)
        if asset is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        return Response(asset.body, media_type=asset.content_type, headers={"cache-control": asset.cache_control})

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return answer(INDEX)

    @app.get("/static/{path:path}", include_in_schema=False)
    async def static(path: str) -> Response:
        return answer(f"static/{path}")

    app.add_middleware(SecurityHeaders)
