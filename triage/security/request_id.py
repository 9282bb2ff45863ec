"""``X-Request-ID`` on every response and in every log line of that request, API and runners.

The client's own ID is kept when it is sane (1-128 characters of letters, digits and
``._:-``: nothing that could forge a log line or smuggle markup); otherwise a new one is
made. The ID lives in a context variable of the request's task and in OpenTelemetry baggage:
BentoML's client injects the current OpenTelemetry context into every runner call, and the
runner's OpenTelemetry middleware restores it, so the runners' log lines of that request
carry the same ID. :func:`install_log_request_ids` makes every log record created during a
request start with ``[request_id=...]``.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from opentelemetry import baggage, context

from triage.security.asgi import ASGIApp, Message, Receive, Scope, Send, header, state

HEADER = b"x-request-id"
BAGGAGE_KEY = "triage.request_id"
SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNTAGGED_LOGGERS = ("triage.audit",)
"""Loggers whose lines are JSON carrying the ID as a field of their own."""

REQUEST_ID: ContextVar[str | None] = ContextVar("triage_request_id", default=None)


def current_request_id() -> str | None:
    """The ID of the request being served here, set by this process's middleware or by the
    API's OpenTelemetry baggage on a runner call; None outside a request."""
    return REQUEST_ID.get() or baggage.get_baggage(BAGGAGE_KEY)  # type: ignore[return-value]


def sane_or_new(value: str | None) -> str:
    return value if value is not None and SANE.match(value) else uuid.uuid4().hex


class RequestId:
    """ASGI middleware: pick the request's ID, make it current, and put it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = sane_or_new(header(scope, HEADER))
        state(scope)["request_id"] = request_id
        # Not reset when the request ends: each request runs in a task of its own, and the
        # access-log middleware outside this one logs after it returns, in the same task.
        REQUEST_ID.set(request_id)
        context.attach(baggage.set_baggage(BAGGAGE_KEY, request_id))
        raw = request_id.encode()

        async def with_id(message: Message) -> None:
            if message["type"] in (
                "http.response.start",
                "websocket.http.response.start",
                "websocket.accept",
            ):
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, raw)]}
            await send(message)

        await self.app(scope, receive, with_id)


def install_log_request_ids() -> None:
    """Prefix every log record made during a request with its ID (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        request_id = current_request_id()
        record.request_id = request_id
        if request_id and not record.name.startswith(UNTAGGED_LOGGERS):
            record.msg = f"[request_id={request_id}] {record.msg}"
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
