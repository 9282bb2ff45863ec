"""Real request bodies for every endpoint, built once from data read in place.

Locust users and ``benchmarks/bench_graph.py`` send exactly the same bytes, so their
figures are comparable. Clips come from ``../shared/audio`` (never copied into the repo),
texts from the held-out split ``training/data/text/test.tsv``. Multipart bodies are
encoded here once, not per request, so the load generator spends its (shared) CPU on
sending rather than on encoding.

Environment knobs (read once):

- ``LOADTEST_CLIP``: speech clip sent to ``/analyze`` and ``/transcribe``
  (default ``emotiontts_neb00201.wav``, 4.66 s, the real clip closest to 5 s);
  ``all`` rotates through every clip of ``shared/audio/speech``.
- ``TRIAGE_API_KEY``: the key load clients send (``Authorization: Bearer``) when none is
  given to them; the load runner and ``bench_graph`` pass the key of the server they start.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness.shared_audio import REPO, SOUNDS_DIR, SPEECH_DIR, read_manifest

TEXT_TSV = REPO / "training" / "data" / "text" / "test.tsv"
DEFAULT_CLIP = "emotiontts_neb00201.wav"

API_KEY_ENV = "TRIAGE_API_KEY"


def key_headers(api_key: str | None = None) -> dict[str, str]:
    """``Authorization`` for ``api_key`` (default: ``$TRIAGE_API_KEY``); empty when there is none."""
    key = api_key or os.environ.get(API_KEY_ENV)
    return {"Authorization": f"Bearer {key}"} if key else {}


CONTENT_TYPES = {".wav": "audio/wav", ".ogg": "audio/ogg", ".flac": "audio/flac", ".mp3": "audio/mpeg"}


@dataclass(frozen=True)
class Body:
    """One ready-to-send request body with its content type and a label for reports."""

    data: bytes
    content_type: str
    label: str


def multipart(filename: str, data: bytes, content_type: str, fields: dict[str, str] | None = None) -> Body:
    """A ``multipart/form-data`` body with one file part named ``file`` (what the API reads)."""
    boundary = f"loadtest-{uuid.uuid4().hex}"
    parts = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return Body(b"".join(parts), f"multipart/form-data; boundary={boundary}", filename)


def _clip_body(path: Path) -> Body:
    return multipart(path.name, path.read_bytes(), CONTENT_TYPES.get(path.suffix, "application/octet-stream"))


@lru_cache(maxsize=1)
def speech_bodies() -> list[Body]:
    """The clip(s) for ``/analyze`` and ``/transcribe``, chosen by ``LOADTEST_CLIP``."""
    choice = os.environ.get("LOADTEST_CLIP", DEFAULT_CLIP)
    names = [row["file"] for row in read_manifest(SPEECH_DIR)] if choice == "all" else [choice]
    return [_clip_body(SPEECH_DIR / name) for name in names]


@lru_cache(maxsize=1)
def sound_bodies() -> list[Body]:
    """Every real clip (sounds and speech) for ``/classify/audio``: 0.5 s to 12.6 s, WAV and OGG."""
    rows = [SOUNDS_DIR / r["file"] for r in read_manifest(SOUNDS_DIR)]
    rows += [SPEECH_DIR / r["file"] for r in read_manifest(SPEECH_DIR)]
    return [_clip_body(p) for p in rows]


@lru_cache(maxsize=1)
def texts() -> list[str]:
    """Held-out Korean sentences (every label), one per ``/classify/text`` request."""
    with TEXT_TSV.open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t") if row["text"].strip()]


def text_bodies() -> list[Body]:
    return [
        Body(json.dumps({"sentences": [t]}, ensure_ascii=False).encode(), "application/json", t[:20])
        for t in texts()
    ]


def correct_bodies() -> list[Body]:
    """``/ec/correct`` requests: one ASR segment each (a held-out sentence), as the original JSON."""
    bodies = []
    for i, t in enumerate(texts()):
        payload = {
            "request_id": f"load-{i}",
            "model_version": "whisper-base",
            "segments": [{"id": 0, "start": 0.0, "end": 3.0, "text": t, "confidence": 0.6}],
        }
        bodies.append(Body(json.dumps(payload, ensure_ascii=False).encode(), "application/json", t[:20]))
    return bodies


ENDPOINTS = {
    "analyze": ("/analyze", speech_bodies),
    "transcribe": ("/transcribe", speech_bodies),
    "classify_text": ("/classify/text", text_bodies),
    "classify_audio": ("/classify/audio", sound_bodies),
    "ec_correct": ("/ec/correct", correct_bodies),
}
"""Short name -> (path, body factory); the names are what the benchmark's ``--endpoints`` takes."""


def cycle(endpoint: str, offset: int = 0) -> Iterator[Body]:
    """Endless bodies for ``endpoint``, starting at ``offset`` so concurrent users do not send in lockstep."""
    bodies = ENDPOINTS[endpoint][1]()
    return itertools.islice(itertools.cycle(bodies), offset % len(bodies), None)


REPORTS = REPO / "loadtest" / "reports"
"""Where load runs and benchmarks write their reports (git-ignored)."""


def write_report(name: str, payload: dict) -> Path:
    """Save a benchmark's figures as ``REPORTS/<name>_<time>.json`` and print where; returns the path."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"results: {path}")
    return path


def warm_up(url: str, endpoints: list[str], requests: int, api_key: str | None = None) -> None:
    """Sequential requests per endpoint before a measurement, so first-call costs and the batching
    dispatcher's training calls (a runner's first 11) stay out of the figures."""
    import httpx

    with httpx.Client(base_url=url, timeout=300, headers=key_headers(api_key)) as client:
        for endpoint in endpoints:
            bodies = cycle(endpoint)
            for _ in range(requests):
                body = next(bodies)
                client.post(
                    ENDPOINTS[endpoint][0], content=body.data, headers={"Content-Type": body.content_type}
                )
