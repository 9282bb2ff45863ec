"""``WS /calls``: the receive loop of one live call, its limits, and how every refusal ends.

The route in ``service.py`` only hands the socket and the runner handles to :func:`serve_call`.
Every refusal is an ``error`` event (``code``, ``message``) followed by a close with the code
of :class:`triage.calls.protocol.CloseCode`; audio stays in memory and is dropped with the call,
and a call that fails touches no other call's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from triage.calls.frames import FrameDecoder, check_start
from triage.calls.protocol import CallError, CloseCode, Disconnected, ErrorEvent, parse_json, parse_start
from triage.calls.session import CallSession, Runners
from triage.config import Settings, get_settings

logger = logging.getLogger("triage")


class CallSlots:
    """Calls in progress in this API worker (one event loop: a counter needs no lock)."""

    def __init__(self) -> None:
        self.active = 0


SLOTS = CallSlots()


async def serve_call(websocket: WebSocket, runners: Runners, language: str) -> None:
    """Serve one call from ``start`` to ``summary`` (or to the error that ends it)."""
    settings = get_settings()
    await websocket.accept()
    if settings.call_max_concurrent and SLOTS.active >= settings.call_max_concurrent:
        error = CallError(
            CloseCode.TRY_AGAIN_LATER,
            "too_many_calls",
            f"The server is serving its limit of {settings.call_max_concurrent} calls; retry shortly.",
        )
        await _refuse(websocket, error, seq=1)
        return
    SLOTS.active += 1
    session: CallSession | None = None
    try:
        session, decoder = await _open(websocket, runners, settings, language)
        await _stream(websocket, session, decoder, settings)
        await _close(websocket, CloseCode.NORMAL)
    except CallError as error:
        if session is None:
            await _refuse(websocket, error, seq=1)
        else:
            await session.cancel()
            with contextlib.suppress(Disconnected, WebSocketDisconnect, RuntimeError):
                await session.fail(error)
            await _close(websocket, error.close)
    except (Disconnected, WebSocketDisconnect):
        pass  # the caller hung up without 'stop': drop the call
    except Exception:
        logger.exception("live call failed")
        await _close(websocket, CloseCode.INTERNAL_ERROR)
    finally:
        if session is not None:
            await session.cancel()
        SLOTS.active -= 1


async def _open(
    websocket: WebSocket, runners: Runners, settings: Settings, language: str
) -> tuple[CallSession, FrameDecoder]:
    """Wait for a valid ``start`` and begin the call."""
    message = await _receive(websocket, settings.call_idle_timeout_s)
    if message.get("bytes") is not None:
        raise CallError(CloseCode.NOT_STARTED, "not_started", "Send a JSON 'start' message before audio.")
    try:
        body = parse_json(message.get("text") or "")
    except CallError:
        raise CallError(
            CloseCode.BAD_START, "bad_start", "The first message must be a JSON 'start'."
        ) from None
    if body.get("type") == "stop":
        raise CallError(CloseCode.NOT_STARTED, "not_started", "'stop' before 'start': no call to stop.")
    start = parse_start(body)
    check_start(start, settings, language)

    async def send(event: dict[str, Any]) -> None:
        try:
            await websocket.send_json(event)
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise Disconnected from exc

    session = CallSession(runners, settings, start, send)
    await session.begin()
    return session, FrameDecoder(start.sample_rate, settings)


async def _stream(
    websocket: WebSocket, session: CallSession, decoder: FrameDecoder, settings: Settings
) -> None:
    """Audio frames until ``stop``; then the rest is decoded and the summary sent."""
    while True:
        message = await _receive(websocket, settings.call_idle_timeout_s, session.failed)
        if session.failure is not None:
            raise session.failure
        if message.get("bytes") is not None:
            session.feed(decoder.decode(message["bytes"]))
            wall_s = time.monotonic() - session.started_at
            if max(session.call_time_s, wall_s) > settings.call_max_seconds:
                raise CallError(
                    CloseCode.CALL_TOO_LONG,
                    "call_too_long",
                    f"Calls are limited to {settings.call_max_seconds:g} s.",
                )
            continue
        body = parse_json(message.get("text") or "")
        if body.get("type") == "stop":
            break
        raise CallError(
            CloseCode.BAD_MESSAGE,
            "bad_message",
            f"Expected binary audio or 'stop', got a {body.get('type')!r} message.",
        )
    await session.finish(decoder.flush())
    if session.failure is not None:
        raise session.failure


async def _receive(
    websocket: WebSocket, timeout_s: float, failed: asyncio.Event | None = None
) -> dict[str, Any]:
    """The next client message, unless the idle timeout passes or the call's workers failed first."""
    receive = asyncio.ensure_future(websocket.receive())
    waiting = {receive}
    failure = asyncio.ensure_future(failed.wait()) if failed is not None else None
    if failure is not None:
        waiting.add(failure)
    try:
        done, _ = await asyncio.wait(waiting, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if failure is not None:
            failure.cancel()
    if receive not in done:
        receive.cancel()
        if failure is not None and failure in done:
            return {}
        raise CallError(
            CloseCode.IDLE_TIMEOUT, "idle_timeout", f"Nothing received for {timeout_s:g} s; call closed."
        )
    message = receive.result()
    if message["type"] == "websocket.disconnect":
        raise Disconnected
    return message


async def _refuse(websocket: WebSocket, error: CallError, seq: int) -> None:
    """Refuse a call that never started: the ``error`` event, then the close code."""
    event = ErrorEvent(seq=seq, call_time_s=0.0, code=error.code, message=error.message)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json(event.model_dump(mode="json"))
    await _close(websocket, error.close)


async def _close(websocket: WebSocket, code: CloseCode) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code=int(code))
