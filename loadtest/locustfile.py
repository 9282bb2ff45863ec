"""Locust users for every public endpoint of the triage server, sending real clips and texts.

Each class loads one endpoint; pick them by name on the command line (or with
``--class-picker`` in the web UI)::

    .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:3000 \\
        --headless -u 8 -r 8 -t 60s ClassifyTextUser ClassifyAudioUser

A request counts as failed unless the status is exactly 200 (a 4xx refusal under load is
a failure here, not a "valid" answer). Users are closed-loop with no think time by
default (each sends its next request as soon as the previous one returns), which is what
measures capacity; ``LOADTEST_WAIT_S=<seconds>`` adds a constant pause between requests.
Payloads: see :mod:`loadtest.payloads` (``LOADTEST_CLIP`` picks the speech clip); every
request sends the key in ``TRIAGE_API_KEY``. ``LiveCallUser`` streams real-time calls over
``WS /calls`` instead of posting, with the same key in its handshake.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import websocket
from locust import User, constant, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # locust imports this file by path

from harness.call_client import call_audio, run_call, ws_url  # noqa: E402
from harness.shared_audio import SPEECH_DIR  # noqa: E402
from loadtest.payloads import API_KEY_ENV, ENDPOINTS, Body, cycle, key_headers  # noqa: E402
from triage.config import get_settings  # noqa: E402

WAIT_S = float(os.environ.get("LOADTEST_WAIT_S", "0"))
AUTH = key_headers()
_offsets = itertools.count()


class _EndpointUser(FastHttpUser):
    """One POST endpoint, its bodies sent in turn (each user starting at a different body)."""

    abstract = True
    endpoint = ""
    wait_time = constant(WAIT_S)
    # Whisper under heavy load queues requests for minutes; a client timeout shorter than the
    # server's own (300 s) would count slow answers as connection errors.
    network_timeout = 300.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.path = ENDPOINTS[self.endpoint][0]
        self.bodies = cycle(self.endpoint, next(_offsets))

    def send(self, body: Body) -> None:
        with self.client.post(
            self.path,
            data=body.data,
            headers={"Content-Type": body.content_type, **AUTH},
            name=self.path,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
            else:
                response.success()

    @task
    def post(self) -> None:
        self.send(next(self.bodies))


class AnalyzeUser(_EndpointUser):
    """``POST /analyze``: the whole graph (Whisper and sound model, corrector, text model, fusion)."""

    endpoint = "analyze"


class TranscribeUser(_EndpointUser):
    """``POST /transcribe``: Whisper alone."""

    endpoint = "transcribe"


class ClassifyTextUser(_EndpointUser):
    """``POST /classify/text``: one held-out sentence per request."""

    endpoint = "classify_text"


class ClassifyAudioUser(_EndpointUser):
    """``POST /classify/audio``: every real sound and speech clip in turn."""

    endpoint = "classify_audio"


class CorrectUser(_EndpointUser):
    """``POST /ec/correct``: one ASR segment per request."""

    endpoint = "ec_correct"


class LiveCallUser(User):
    """``WS /calls``: one real-time call after another, made of development clips with pauses.

    Each call is one ``WS /calls`` entry (its wall time; it fails without a summary), and each of
    its segments one ``WS /calls segment`` entry whose response time is the committed-text
    latency (end of the utterance's speech to the segment), so Locust's percentiles are the
    latency figures. ``LOADTEST_CALL_CLIPS`` (comma-separated file names) picks the clips.
    """

    wait_time = constant(WAIT_S)
    clips = os.environ.get(
        "LOADTEST_CALL_CLIPS", "emotiontts_lmy02120.wav,emotiontts_pmc00008.wav,emotiontts_pml00009.wav"
    )

    def on_start(self) -> None:
        self.pcm, self.rate = call_audio([SPEECH_DIR / name for name in self.clips.split(",")])
        self.silence_s = get_settings().call_silence_ms / 1000

    def fire(self, name: str, seconds: float, length: int, error: str | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=seconds * 1000,
            response_length=length,
            exception=RuntimeError(error) if error else None,
            context={},
        )

    @task
    def call(self) -> None:
        started = time.monotonic()
        try:
            result = run_call(
                ws_url(self.host or ""), self.pcm, self.rate, speed=1.0, api_key=os.environ.get(API_KEY_ENV)
            )
        except websocket.WebSocketBadStatusException as refused:  # no key, a wrong one, rate limit
            self.fire("/calls", time.monotonic() - started, 0, f"handshake refused: {refused.status_code}")
            return
        errors = result.of("error")
        why = errors[0]["code"] if errors else "no summary"
        failure = None if result.summary else f"close {result.close_code}: {why}"
        self.fire("/calls", time.monotonic() - started, len(result.events), failure)
        for latency in result.segment_latencies(self.silence_s):
            self.fire("/calls segment", latency, 0)
