"""A live-call client for ``WS /calls``: stream a real clip as PCM frames, collect the events.

Shared by the tests, the live-call benchmark and the Locust user, so all three speak the
protocol the same way. Sending and receiving run in two threads (a caller keeps talking while
the server answers), and every event is stamped with the client's clock on arrival, which is
what latency figures are measured from. A server with API keys (every one by default) takes
the key as ``Authorization: Bearer <key>`` in the handshake: pass ``api_key``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import websocket  # websocket-client

CHUNK_MS = 100


def read_pcm(path: Path, silence_s: float = 0.0) -> tuple[np.ndarray, int]:
    """A clip as mono int16 at its own rate, with ``silence_s`` of silence after it."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    mono = np.concatenate([mono, np.zeros(round(silence_s * rate), dtype=np.float32)])
    return (np.clip(mono, -1, 1) * 32767).astype("<i2"), rate


def call_audio(paths: list[Path], gap_s: float = 1.0) -> tuple[np.ndarray, int]:
    """Clips one after another with ``gap_s`` of silence between and after them (one rate)."""
    parts, rates = zip(*(read_pcm(p, gap_s) for p in paths), strict=True)
    if len(set(rates)) != 1:
        raise ValueError(f"clips of one call must share a sample rate, got {sorted(set(rates))}")
    return np.concatenate(parts), rates[0]


def frames(pcm: np.ndarray, rate: int, chunk_ms: int = CHUNK_MS) -> list[bytes]:
    """PCM cut into frames of ``chunk_ms``; a short remainder joins the last frame."""
    step = rate * chunk_ms // 1000
    cuts = list(range(0, len(pcm), step))
    if len(cuts) > 1 and len(pcm) - cuts[-1] < step // 2:
        cuts.pop()
    return [pcm[a:b].tobytes() for a, b in zip(cuts, [*cuts[1:], len(pcm)], strict=True)]


@dataclass
class CallResult:
    """What one call got back: events (each with ``received_s``, client time since start) and the close."""

    events: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    sent_s: list[float] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def summary(self) -> dict[str, Any] | None:
        found = self.of("summary")
        return found[0] if found else None

    def sent_at(self, call_time_s: float, chunk_ms: int = CHUNK_MS) -> float:
        """Client time at which the frame holding ``call_time_s`` of audio was sent."""
        index = int(np.ceil(call_time_s * 1000 / chunk_ms)) - 1
        return self.sent_s[min(max(index, 0), len(self.sent_s) - 1)]

    def segment_latencies(self, silence_s: float) -> list[float]:
        """Per segment: seconds from the end of its speech (its end less the VAD's closing
        silence) to its arrival: the committed-text latency a caller's words see."""
        return [s["received_s"] - self.sent_at(max(s["end"] - silence_s, 0.0)) for s in self.of("segment")]

    def alert_delay(self) -> float | None:
        """Seconds from the end of the decisive utterance (or sound window) to the ``alert``."""
        alerts = self.of("alert")
        return alerts[0]["received_s"] - self.sent_at(alerts[0]["call_time_s"]) if alerts else None


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/calls"


def connect(url: str, api_key: str | None = None, timeout_s: float = 300) -> websocket.WebSocket:
    """The handshake of one call, with the key in its ``Authorization`` header when there is one.

    A refused handshake (no key, a wrong one, the rate limit) raises
    ``websocket.WebSocketBadStatusException`` carrying the server's HTTP status and JSON error.
    """
    header = [f"Authorization: Bearer {api_key}"] if api_key else None
    return websocket.create_connection(url, timeout=timeout_s, header=header)


def run_call(
    url: str,
    pcm: np.ndarray,
    rate: int,
    *,
    speed: float = 1.0,
    chunk_ms: int = CHUNK_MS,
    start: dict[str, Any] | None = None,
    timeout_s: float = 300,
    api_key: str | None = None,
) -> CallResult:
    """One call to ``url`` (``ws://host:port/calls``): start, frames at ``speed`` x real time, stop.

    ``speed=0`` sends as fast as the socket takes the frames. Returns when the server closes.
    """
    result = CallResult()
    sock = connect(url, api_key, timeout_s)
    began = time.monotonic()
    reader = threading.Thread(target=_read, args=(sock, result, began), daemon=True)
    reader.start()
    try:
        sock.send(
            json.dumps({"type": "start", "sample_rate": rate, "encoding": "pcm_s16le", **(start or {})})
        )
        for i, frame in enumerate(frames(pcm, rate, chunk_ms)):
            if speed > 0:
                due = began + i * chunk_ms / 1000 / speed
                time.sleep(max(0.0, due - time.monotonic()))
            if not reader.is_alive():
                break  # the server ended the call (an error): stop talking
            sock.send_binary(frame)
            result.sent_s.append(time.monotonic() - began)
        if reader.is_alive():
            sock.send(json.dumps({"type": "stop"}))
    except (websocket.WebSocketException, OSError):
        pass  # closed by the server mid-send: the reader has the close code
    reader.join(timeout_s)
    sock.close()
    return result


def _read(sock: websocket.WebSocket, result: CallResult, began: float) -> None:
    """Collect events until the server closes; note its close code."""
    while True:
        try:
            opcode, data = sock.recv_data(control_frame=False)
        except (websocket.WebSocketException, OSError):
            return
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            result.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return
        if opcode == websocket.ABNF.OPCODE_TEXT:
            event = json.loads(data)
            event["received_s"] = time.monotonic() - began
            result.events.append(event)


def exchange(
    url: str, messages: list[str | bytes], timeout_s: float = 60, api_key: str | None = None
) -> CallResult:
    """Send raw messages (text or binary) as they are, then read until the server closes.

    For protocol tests: malformed starts, frames before ``start``, bad PCM and the like.
    """
    result = CallResult()
    sock = connect(url, api_key, timeout_s)
    began = time.monotonic()
    try:
        for message in messages:
            if isinstance(message, bytes):
                sock.send_binary(message)
            else:
                sock.send(message)
    except (websocket.WebSocketException, OSError):
        pass
    _read(sock, result, began)
    sock.close()
    return result
