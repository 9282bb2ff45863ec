"""BentoML's per-request timeout without holding every request in memory until it would fire.

BentoML 1.4's ``TimeoutMiddleware`` arms ``loop.call_later(timeout, ...)`` for every request
and never cancels it. An armed timer keeps a copy of the request task's context, and through
it the request's OpenTelemetry span, scope and objects, until it fires: the API worker (timeout
300 s) held the last five minutes of requests, so its memory grew with the request rate for
the first five minutes of any load and stayed there. :func:`install` gives the middleware the
same behaviour (504 when no response has started within the timeout) with a timer that holds
no request context and is cancelled when the request ends.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from bentoml._internal.server.http.traffic import TimeoutMiddleware
from starlette.responses import JSONResponse

from triage.security.asgi import Message, Receive, Scope, Send


async def _call(self: TimeoutMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
    """``TimeoutMiddleware.__call__`` as BentoML wrote it, with the timer's lifetime bounded."""
    if scope["type"] not in ("http", "websocket"):
        await self.app(scope, receive, send)
        return
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[Any] = loop.create_future()
    timer = loop.call_later(self.timeout, self._set_timer_out, waiter, context=contextvars.Context())

    async def _send(message: Message) -> None:
        if not waiter.done():
            waiter.set_result(None)
        await send(message)

    fut = asyncio.ensure_future(self.app(scope, receive, _send), loop=loop)
    try:
        await waiter
    except TimeoutError:
        if fut.cancel():
            response = JSONResponse(
                {"error": f"Not able to process the request in {self.timeout} seconds"}, status_code=504
            )
            await response(scope, receive, send)
    else:
        await fut
    finally:
        timer.cancel()


def install() -> None:
    """Replace the method once per process, before the first request (imports do it)."""
    TimeoutMiddleware.__call__ = _call  # type: ignore[method-assign]
