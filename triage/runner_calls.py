"""Calls from the API service to the runners, retried once when a pooled connection was stale.

BentoML's internal client (aiohttp) keeps idle connections for 15 s while the runners'
uvicorn closes them after 5 s, so a request can be written into a connection the runner
just closed and fail with ``ServerDisconnectedError`` (BentoML issue #4971; the upstream
fix is not released). Inference calls are idempotent, so one retry on a fresh connection
is safe; a runner that is really down fails again and becomes a 503 (``triage.http_errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")
logger = logging.getLogger("triage")
STALE_CONNECTION = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


async def call_runner(method: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await method(*args)``, once more if the connection it used turned out to be closed."""
    try:
        return await method(*args)
    except STALE_CONNECTION as exc:
        logger.info("runner connection was closed (%s); retrying once", type(exc).__name__)
        return await method(*args)
