"""API-key authentication as ASGI middleware, for HTTP requests and WebSocket handshakes alike.

A key is sent as ``Authorization: Bearer <key>``. Browsers cannot set headers on a
WebSocket, so a handshake may instead offer the subprotocols ``bearer`` and ``<key>``
(``new WebSocket(url, ["bearer", key])``): the key is taken out of the list the route sees,
and ``bearer`` is echoed when the route accepts without choosing a subprotocol of its own.
A key in the query string is refused outright, even beside a good header: URLs end up in
proxy logs, browser history and ``Referer`` headers, so such a key must be rotated.

Failed authentications are counted per client address (a token bucket each): once an address
has spent its allowance, every request from it that needs a key gets 429 ``rate_limited``
before its key is even looked at, good key or not. Answering a right guess with 200 while
refusing wrong ones would still let guessing go on at any speed; other addresses' keys keep
working.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl

from triage.security.asgi import (
    HEALTH_PATHS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    path_in,
    send_error,
    state,
)
from triage.security.keys import KeyStore
from triage.security.rate_limit import Buckets, send_rate_limited

logger = logging.getLogger("triage.security")

PAGE_PATHS = ("/ui",)
"""The upload page and its script and style: static files holding no data, loaded before the
browser has a key to send (the page then asks for one)."""
DOCS_PATHS = ("/docs.json", "/schema.json", "/static_content", "/assets")
CREDENTIAL_PARAMS = frozenset(
    {"key", "api_key", "apikey", "api-key", "token", "access_token", "auth", "authorization", "bearer"}
)
TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,256}$")
WS_BEARER = "bearer"

UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="triage"'}


class ApiKeyAuth:
    """Refuse every request without a known key, except health probes, the page (and optionally
    ``/metrics`` and the API docs); note the key's name in ``scope["state"]["caller"]``."""

    def __init__(
        self,
        app: ASGIApp,
        keys_file: str,
        key_hashes: str = "",
        enabled: bool = True,
        metrics_require_key: bool = False,
        public_docs: bool = False,
        failure_rate_per_s: float = 0.0,
        failure_burst: int = 1,
    ) -> None:
        self.app = app
        self.failures = Buckets(failure_rate_per_s, failure_burst)
        self.store = KeyStore(Path(keys_file).expanduser() if keys_file else None, key_hashes)
        self.enabled = enabled
        self.public = HEALTH_PATHS + PAGE_PATHS + (() if metrics_require_key else ("/metrics",))
        self.public_docs = public_docs
        if not enabled:
            logger.warning(
                "API-key authentication is OFF (TRIAGE_AUTH=0): anyone who reaches this port can "
                "send calls and read their analysis"
            )
        elif not self.store.keys():
            logger.error(
                "no API keys configured: every request will be refused. Create one with "
                "`python -m triage.security.keys create NAME` (or set TRIAGE_API_KEY_HASHES)"
            )

    def is_public(self, path: str) -> bool:
        if path_in(path, self.public):
            return True
        return self.public_docs and (path == "/" or path_in(path, DOCS_PATHS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        if not self.enabled:
            state(scope)["caller"] = f"anonymous@{address}"
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        wait = self.failures.wait(address, now) if self.failures.enabled else 0.0
        if wait > 0:
            await send_rate_limited(
                scope,
                send,
                wait,
                f"Too many failed authentications from this address (at most {self.failures.rate:g} "
                f"per second, bursts of {self.failures.burst}); retry in {wait:.1f} s.",
            )
            return
        refusal, name = self.check(scope)
        if refusal is not None:
            status, code, message = refusal
            if self.failures.enabled:
                self.failures.take(address, now)
                if self.failures.wait(address, now) > 0:
                    logger.warning("client %s refused after repeated failed authentications", address)
            await send_error(scope, send, status, code, message, UNAUTHORIZED if status == 401 else None)
            return
        state(scope)["caller"] = name
        if scope["type"] == "websocket" and state(scope).get("key_in_subprotocol"):
            send = _echo_bearer_subprotocol(send)
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> tuple[tuple[int, str, str] | None, str | None]:
        """``(None, key name)`` for a good key, else ``((status, code, message), None)``."""
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            leaked = [v for _, v in pairs if v and self.store.name_of(v)]
            if leaked or any(k.lower() in CREDENTIAL_PARAMS for k, _ in pairs):
                if leaked:
                    logger.warning("key %r was sent in a URL: rotate it", self.store.name_of(leaked[0]))
                return (
                    400,
                    "key_in_query",
                    "Send the key in the Authorization header, never in the URL.",
                ), None
        key = self.presented_key(scope)
        if isinstance(key, tuple):
            return key, None
        name = self.store.name_of(key)
        if name is None:
            return (401, "invalid_key", "The API key is not valid (unknown or revoked)."), None
        return None, name

    def presented_key(self, scope: Scope) -> str | tuple[int, str, str]:
        authorizations = [v for k, v in scope.get("headers", ()) if k == b"authorization"]
        if not authorizations and scope["type"] == "websocket":
            key = _subprotocol_key(scope)
            if key is not None:
                state(scope)["key_in_subprotocol"] = True
                return key
        if not authorizations:
            return 401, "missing_key", "Send an API key as 'Authorization: Bearer <key>'."
        scheme, _, token = authorizations[0].decode("latin-1").strip().partition(" ")
        token = token.strip()
        if len(authorizations) > 1 or scheme.lower() != "bearer" or not TOKEN.match(token):
            return 401, "malformed_authorization", "The Authorization header must be 'Bearer <key>'."
        return token


def client_address(scope: Scope) -> str:
    """The client's IP address as the server sees it (Uvicorn puts a trusted proxy's
    ``X-Forwarded-For`` there; see ``FORWARDED_ALLOW_IPS``), or ``unknown``."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _subprotocol_key(scope: Scope) -> str | None:
    """The key offered as the subprotocol after ``bearer``, removed from what the route sees."""
    offered = list(scope.get("subprotocols") or [])
    if WS_BEARER not in offered:
        return None
    at = offered.index(WS_BEARER)
    if at + 1 >= len(offered):
        return None
    key = offered[at + 1]
    scope["subprotocols"] = offered[:at] + offered[at + 2 :]
    return key


def _echo_bearer_subprotocol(send: Send) -> Send:
    """A browser that offered subprotocols fails the connection unless the server picks one."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": WS_BEARER}
        await send(message)

    return wrapped
