"""BentoML's request timeout, as installed by ``triage.request_timeout``: same answers, no timer
left armed (holding the request's context) once a request has been answered."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from bentoml._internal.server.http.traffic import TimeoutMiddleware

import runners  # noqa: F401 - installs the timeout, as every server process does

MARK: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_mark", default=None)


async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await asyncio.sleep(scope.get("delay", 0))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def serve(middleware: TimeoutMiddleware, delay: float = 0.0) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    MARK.set("a request's own state")
    await middleware({"type": "http", "delay": delay, "headers": []}, receive, send)
    return sent


def test_answered_requests_leave_no_armed_timer_and_slow_ones_still_get_504() -> None:
    async def scenario() -> tuple[list[int], int, list[Any], int]:
        middleware = TimeoutMiddleware(answer, timeout=300)
        statuses = []
        for _ in range(50):
            sent = await asyncio.create_task(serve(middleware))
            statuses.append(sent[0]["status"])
        loop: Any = asyncio.get_running_loop()
        armed = [h for h in loop._scheduled if not h.cancelled()]
        holding = [h for h in loop._scheduled if h._context.get(MARK) is not None]
        slow = await asyncio.create_task(serve(TimeoutMiddleware(answer, timeout=0.05), delay=1.0))
        return statuses, len(armed), holding, slow[0]["status"]

    statuses, armed, holding, slow_status = asyncio.run(scenario())
    assert statuses == [200] * 50
    assert armed == 0 and holding == []
    assert slow_status == 504
