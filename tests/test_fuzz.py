"""Property-based fuzzing, with bounded budgets: the decoder, the jamo code and the OpenAPI surface.

- ``decode_audio`` on arbitrary bytes and on well-formed files with hostile samples either
  returns clean 16 kHz float32 audio or raises a 4xx :class:`TriageError`, nothing else.
- Jamo decomposition round-trips, and the phonetic distance behaves like a distance.
- schemathesis sends schema-derived (and schema-violating) requests to every operation of
  the served OpenAPI spec: no request may produce a 5xx.
"""

from __future__ import annotations

import io

import numpy as np
import schemathesis
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from triage.audio import decode_audio
from triage.errors import TriageError
from triage.jamo import compose, decompose, phonetic_distance

FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
hangul = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=12)


def assert_clean_or_refused(data: bytes, content_type: str | None = None) -> None:
    try:
        samples = decode_audio(data, content_type)
    except TriageError as exc:
        assert 400 <= exc.status < 500 and exc.code and exc.message
        return
    assert samples.dtype == np.float32 and samples.ndim == 1 and samples.size > 0
    assert np.all(np.isfinite(samples)) and float(np.max(np.abs(samples))) <= 1.0 + 1e-6


@FUZZ
@given(
    data=st.binary(max_size=4096), content_type=st.sampled_from([None, "audio/wav", "audio/L16; rate=8000"])
)
def test_decoder_on_arbitrary_bytes(data: bytes, content_type: str | None) -> None:
    assert_clean_or_refused(data, content_type)


@FUZZ
@given(
    samples=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=2000),
    rate=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    subtype=st.sampled_from(["FLOAT", "PCM_16"]),
    cut=st.integers(min_value=0, max_value=64),
)
def test_decoder_on_hostile_wav(samples: list[float], rate: int, subtype: str, cut: int) -> None:
    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, dtype=np.float32).reshape(-1, 1), rate, format="WAV", subtype=subtype)
    data = buf.getvalue()
    assert_clean_or_refused(data[: len(data) - cut] if cut else data)


@FUZZ
@given(text=st.text(max_size=30))
def test_jamo_round_trip(text: str) -> None:
    assert compose(decompose(text)) == compose(text)


@FUZZ
@given(a=hangul, b=hangul)
def test_phonetic_distance_is_a_distance(a: str, b: str) -> None:
    d = phonetic_distance(a, b)
    assert d == phonetic_distance(b, a) and d >= 0.0
    assert phonetic_distance(a, a) == 0.0
    if a != b:
        assert d > 0.0


UPLOAD_ROUTES = ("/analyze", "/analyze/batch", "/transcribe", "/classify/audio")


def test_openapi_documents_upload_bodies(server: Server) -> None:
    """The upload routes read the request themselves; their form must still be in the served spec."""
    spec = server.client.get("/docs.json", timeout=10).json()
    forms = {}
    for path in UPLOAD_ROUTES:
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert content["audio/*"]["schema"] == {"type": "string", "format": "binary"}
        forms[path] = content["multipart/form-data"]["schema"]
        assert forms[path]["required"] == ["file"]
    analyze = forms["/analyze"]["properties"]
    assert (analyze["file"]["type"], analyze["file"]["format"]) == ("string", "binary")
    assert analyze["transcript"]["type"] == "string"
    batch = forms["/analyze/batch"]["properties"]["file"]
    assert batch["type"] == "array" and batch["items"]["format"] == "binary"


def test_openapi_operations_never_answer_5xx(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/docs.json", headers=server.auth_headers)
    tried = 0
    media_types: dict[str, set[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case) -> None:
            media_types.setdefault(case.path, set()).add(str(case.media_type))
            response = case.call(base_url=server.url, headers=server.auth_headers, timeout=120)
            assert response.status_code < 500, (
                f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
            )

        call()
        tried += 1
    print(f"schemathesis fuzzed {tried} operations; upload bodies sent: {media_types}")
    assert tried >= 8
    for path in UPLOAD_ROUTES:
        assert "multipart/form-data" in media_types[path], f"{path}: no multipart body generated"
    assert server.process.poll() is None
