"""Refuse work beyond a configured number of requests in flight, instead of queueing forever.

A caller in an emergency is better served by a fast "busy, retry" (503 with ``Retry-After``)
than by a request that waits minutes behind a queue on a 2-core box. Health, readiness,
metrics and the static pages are never refused, so orchestrators still see the service.
"""

from __future__ import annotations

from triage.security.asgi import ASGIApp, Receive, Scope, Send, send_error

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
            await send_error(
                scope,
                send,
                503,
                "overloaded",
                f"The server is handling its limit of {self.limit} requests; retry shortly.",
                {"Retry-After": "1"},
            )
            return
        self.in_flight += 1  # one event loop per worker: no lock needed between awaits
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
