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
request sends the key in ``TRIAGE_API_KEY``.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # locust imports this file by path

from loadtest.payloads import ENDPOINTS, Body, cycle, key_headers  # noqa: E402

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
