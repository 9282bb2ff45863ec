"""ASGI types and the one way middleware answers a refusal: the API's JSON error shape.

Middleware runs outside FastAPI, so it cannot raise :class:`triage.errors.TriageError` and
let the exception handlers render it; :func:`send_error` writes the same
``{"error": {"code", "message"}}`` body itself, for HTTP requests and WebSocket handshakes.
The security middleware and the in-flight limit (:mod:`triage.overload`) all answer through it.
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

HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
"""Probes: orchestrators call them without a key, and they say nothing about any call."""


def path_in(path: str, prefixes: tuple[str, ...]) -> bool:
    """``path`` is one of ``prefixes`` or below one (``/ui`` matches ``/ui/app.js``, not ``/uix``)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def header(scope: Scope, name: bytes) -> str | None:
    """The value of header ``name`` (lower case), decoded as Latin-1 like HTTP itself; None if absent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def state(scope: Scope) -> dict[str, Any]:
    """The request's ``scope["state"]`` (Starlette's ``request.state``), where middleware leave notes."""
    return scope.setdefault("state", {})


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer ``status`` with a JSON error; a WebSocket handshake is refused before it is accepted."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008})  # the server answers 403
            return
        await send({"type": "websocket.http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
