"""Bounds every request must keep before any route sees it: header size and body speed.

- Headers larger than ``max_header_bytes`` get 431 ``headers_too_large``. (Uvicorn's HTTP
  parser itself refuses a header block over 16 KiB with a plain-text 400 before the app
  runs; this limit sits below it so ordinary oversize requests get the JSON error.)
- The whole body must arrive within ``body_timeout_s`` of the request's start. A client
  trickling one byte a second would otherwise keep its request, its in-flight slot and its
  buffers alive for as long as it likes; here it gets 408 ``body_timeout`` and the connection
  is closed. Waiting is asynchronous, so even before the cut-off it holds no worker thread.
"""

from __future__ import annotations

import asyncio

from triage.errors import TriageError
from triage.security.asgi import ASGIApp, Message, Receive, Scope, Send, send_error


class BodyTimeout(TriageError):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, "body_timeout", f"The request body did not arrive within {seconds:g} s.")


class RequestBounds:
    """ASGI middleware enforcing the header-size and body-time limits above."""

    def __init__(self, app: ASGIApp, max_header_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        size = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))
        if size > self.max_header_bytes:
            await send_error(
                scope,
                send,
                431,
                "headers_too_large",
                f"Request headers exceed {self.max_header_bytes} bytes.",
            )
            return
        if scope["type"] != "http" or self.body_timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.body_timeout_s
        flags = {"body_done": False, "timed_out": False, "started": False}

        async def bounded_receive() -> Message:
            if flags["body_done"]:
                return await receive()  # e.g. waiting for a disconnect: not the body's time
            try:
                async with asyncio.timeout_at(deadline):  # no task per call, unlike wait_for
                    message = await receive()
            except TimeoutError:
                flags["timed_out"] = True
                raise BodyTimeout(self.body_timeout_s) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                flags["body_done"] = True
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":  # the rest of the body is unread:
                headers = [*message.get("headers", ()), (b"connection", b"close")]  # no reuse
                message = {**message, "headers": headers}
            await send(message)

        async def refuse() -> None:
            if not flags["started"]:
                flags["started"] = True
                error = BodyTimeout(self.body_timeout_s)
                await send_error(scope, closing, error.status, error.code, error.message)

        async def guarded_send(message: Message) -> None:
            if flags["timed_out"]:  # whatever the app made of the cut body (FastAPI: a 400), ours instead
                if message["type"] == "http.response.start":
                    await refuse()
                return
            if message["type"] == "http.response.start":
                flags["started"] = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except BodyTimeout:
            if flags["started"]:
                raise
        if flags["timed_out"]:
            await refuse()
