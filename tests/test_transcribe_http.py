"""``POST /transcribe`` over a real ``bentoml serve`` process: real clips in, JSON out, 4xx on bad input."""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
import pytest
import soundfile as sf

from harness.shared_audio import SPEECH_DIR, read_manifest
from tests.conftest import Server
from triage.config import SAMPLE_RATE
from triage.metrics import cer

CLIPS = ["emotiontts_lmy02120.wav", "emotiontts_pma00006.wav", "emotiontts_neb00201.wav"]


def wav(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_transcribes_real_clips(server: Server) -> None:
    references = {r["file"]: r["transcript"] for r in read_manifest(SPEECH_DIR)}
    for name in CLIPS:
        data = (SPEECH_DIR / name).read_bytes()
        response = server.client.post("/transcribe", files={"file": (name, data, "audio/wav")}, timeout=120)
        assert response.status_code == 200, response.text
        body = response.json()
        assert cer(references[name], body["text"]) < 0.3
        assert body["language"] == "ko" and body["segments"][0]["words"]


def test_raw_audio_body_is_accepted(server: Server) -> None:
    data = (SPEECH_DIR / CLIPS[0]).read_bytes()
    response = server.client.post(
        "/transcribe", content=data, headers={"content-type": "audio/wav"}, timeout=120
    )
    assert response.status_code == 200 and "도둑" in response.json()["text"]


def _tone(seconds: float) -> np.ndarray:
    return (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE)).astype(
        np.float32
    )


BAD_UPLOADS = [
    ("not audio", b"this is plain text, not sound" * 20, 415, "unsupported_audio"),
    ("empty", b"", 400, "empty_audio"),
    ("silence", wav(np.zeros(SAMPLE_RATE * 2, dtype=np.float32)), 422, "silent_audio"),
    ("too long", wav(_tone(61)), 413, "audio_too_long"),
    ("truncated wav", (SPEECH_DIR / CLIPS[0]).read_bytes()[:30], 415, "unsupported_audio"),
]


@pytest.mark.parametrize(("label", "data", "status", "code"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_audio_gets_clear_4xx(server: Server, label: str, data: bytes, status: int, code: str) -> None:
    response = server.client.post("/transcribe", files={"file": ("x.wav", data, "audio/wav")}, timeout=60)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_request_shape_errors(server: Server) -> None:
    no_file = server.client.post("/transcribe", files={"language": (None, "ko")}, timeout=30)
    assert no_file.status_code == 400 and no_file.json()["error"]["code"] == "missing_file"
    as_json = server.client.post("/transcribe", json={"audio": "abc"}, timeout=30)
    assert as_json.status_code == 415 and as_json.json()["error"]["code"] == "unsupported_media_type"


def test_oversized_upload_is_refused_and_server_keeps_serving(server: Server) -> None:
    before = set(os.listdir(tempfile.gettempdir()))
    huge = b"\0" * (21 * 1024 * 1024)  # above the default 20 MiB limit
    response = server.client.post("/transcribe", files={"file": ("big.wav", huge, "audio/wav")}, timeout=60)
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large"
    assert server.client.get("/readyz", timeout=10).status_code == 200
    leftovers = {n for n in set(os.listdir(tempfile.gettempdir())) - before if not n.startswith("pytest")}
    assert not leftovers


def test_bentoml_operational_endpoints(server: Server) -> None:
    assert server.client.get("/healthz", timeout=10).status_code == 200
    assert server.client.get("/readyz", timeout=10).status_code == 200
    metrics = server.client.get("/metrics", timeout=10)
    assert metrics.status_code == 200 and "bentoml" in metrics.text
    spec = server.client.get("/docs.json", timeout=10).json()
    assert "/transcribe" in spec["paths"]
