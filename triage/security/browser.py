"""Headers that keep browsers from turning the API or the page against their users.

The upload page gets a Content-Security-Policy allowing script, style and requests from
its own origin only: no inline script, no third-party origin, no framing. Its script and
style are therefore separate files (``/ui/app.js``, ``/ui/style.css``). API responses get
a policy that allows nothing at all, since a JSON answer is never a document. The Swagger
page (``/``) is left without a policy: BentoML's copy of it needs inline script.
Cross-origin calls are allowed only from ``TRIAGE_CORS_ORIGINS`` (see :func:`cors_options`).
"""

from __future__ import annotations

from typing import Any

from triage.security.asgi import ASGIApp, Message, Receive, Scope, Send, path_in
from triage.security.auth import DOCS_PATHS, PAGE_PATHS

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def cors_options(origins: tuple[str, ...]) -> dict[str, Any]:
    """Options of Starlette's ``CORSMiddleware`` for exactly these origins, with the headers a
    caller needs: its key and request ID in, the request ID and ``Retry-After`` readable out."""
    return {
        "allow_origins": list(origins),
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["Authorization", "Content-Type", "X-Request-ID"],
        "expose_headers": ["X-Request-ID", "Retry-After"],
        "max_age": 600,
    }


class SecurityHeaders:
    """ASGI middleware adding ``nosniff``, ``no-referrer`` and the right CSP to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path_in(path, PAGE_PATHS):
            extra = [*COMMON, (b"content-security-policy", PAGE_CSP.encode())]
        elif path == "/" or path_in(path, DOCS_PATHS):
            extra = COMMON
        else:
            extra = [*COMMON, (b"content-security-policy", API_CSP.encode())]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
