"""Refuse work beyond a configured number of requests in flight, instead of queueing forever.

A caller in an emergency is better served by a fast "busy, retry" (503 with ``Retry-After``)
than by a request that waits minutes behind a queue on a 2-core box. Health, readiness,
metrics and the static pages are never refused, so orchestrators still see the service.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ALWAYS_SERVED = ("/healthz", "/livez", "/readyz", "/metrics", "/ui", "/docs")


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` API requests at once; the next gets 503 ``overloaded`` at once."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"].startswith(ALWAYS_SERVED):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await _refuse(send, self.limit)
            return
        self.in_flight += 1  # one event loop per worker: no lock needed between awaits
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "overloaded",
                "message": f"The server is handling its limit of {limit} requests; retry shortly.",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
