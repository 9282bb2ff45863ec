"""Whisper on real Korean speech: both engines, batching across clips, long clips, audio input.

Bounds were measured on the 14 clips of ``shared/audio/speech`` with Whisper base, greedy:
CTranslate2 int8 mean CER 0.114, openai-whisper (converted weights, float32) 0.11-0.12,
mean CER between the two engines' transcripts about 0.03. The bounds leave margin for
thread-count nondeterminism, not for regressions.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SPEECH_DIR, read_manifest
from triage.audio import decode_audio
from triage.config import SAMPLE_RATE, get_settings
from triage.errors import TriageError
from triage.metrics import cer
from triage.speech.engines import CTranslate2Engine, OpenAIWhisperEngine

MAX_MEAN_CER = {"ctranslate2": 0.2, "openai": 0.2}
MAX_ENGINE_DISAGREEMENT = 0.1


@pytest.fixture(scope="module")
def clips() -> tuple[list[dict[str, str]], list[np.ndarray]]:
    rows = read_manifest(SPEECH_DIR)
    return rows, [decode_audio((SPEECH_DIR / r["file"]).read_bytes()) for r in rows]


@pytest.fixture(scope="module")
def engines(whisper_model: Path) -> dict[str, object]:
    settings = get_settings()
    return {
        "ctranslate2": CTranslate2Engine(whisper_model / "ct2", settings, "cpu"),
        "openai": OpenAIWhisperEngine(whisper_model / "openai" / "model.pt", settings, "cpu"),
    }


@pytest.fixture(scope="module")
def transcripts(engines, clips) -> dict[str, list]:
    _, audio = clips
    return {name: engine.transcribe_batch(audio) for name, engine in engines.items()}


@pytest.mark.parametrize("engine", ["ctranslate2", "openai"])
def test_engine_cer_on_real_korean_speech(engine, transcripts, clips) -> None:
    rows, _ = clips
    scores = [cer(r["transcript"], t.text) for r, t in zip(rows, transcripts[engine], strict=True)]
    mean = float(np.mean(scores))
    print(f"{engine}: mean CER {mean:.3f} over {len(scores)} clips")
    assert mean < MAX_MEAN_CER[engine]
    for t in transcripts[engine]:
        assert t.language == "ko" and t.engine == engine
        assert t.segments and all(s.words for s in t.segments)
        assert all(0.0 <= w.probability <= 1.0 for s in t.segments for w in s.words)
        assert t.avg_logprob < 0 and 0.0 <= t.no_speech_prob <= 1.0


def test_engines_agree_on_converted_weights(transcripts) -> None:
    pairs = zip(transcripts["ctranslate2"], transcripts["openai"], strict=True)
    disagreement = float(np.mean([cer(a.text, b.text) for a, b in pairs]))
    print(f"mean CER between engines: {disagreement:.3f}")
    assert disagreement < MAX_ENGINE_DISAGREEMENT


def test_batch_equals_one_by_one(engines, clips, transcripts) -> None:
    """Decoding clips together must not change what each clip says."""
    _, audio = clips
    engine = engines["ctranslate2"]
    alone = [engine.transcribe_batch([a])[0].text for a in audio[:3]]
    together = [t.text for t in transcripts["ctranslate2"][:3]]
    assert np.mean([cer(a, b) for a, b in zip(alone, together, strict=True)]) < 0.05


def test_clip_longer_than_one_window_is_stitched(engines, clips) -> None:
    rows, audio = clips
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    pieces = [audio[i] for i in range(6)]
    long_clip = np.concatenate([x for p in pieces for x in (p, pause)])
    assert long_clip.shape[0] / SAMPLE_RATE > 30
    [t] = engines["ctranslate2"].transcribe_batch([long_clip])
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts) and t.segments[-1].end > 30
    reference = " ".join(rows[i]["transcript"] for i in range(6))
    assert cer(reference, t.text) < 0.3


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    sf.write(buf, data, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_decoder_accepts_formats_and_resamples() -> None:
    clip = decode_audio((SPEECH_DIR / "emotiontts_pma00006.wav").read_bytes())
    for rate, channels, fmt in [(8000, 1, "WAV"), (48000, 2, "WAV"), (44100, 1, "FLAC"), (22050, 1, "OGG")]:
        resampled = np.interp(np.arange(0, clip.shape[0], SAMPLE_RATE / rate), np.arange(clip.shape[0]), clip)
        buf = io.BytesIO()
        data = np.repeat(resampled[:, None], channels, axis=1)
        sf.write(buf, data.astype(np.float32), rate, format=fmt)
        out = decode_audio(buf.getvalue())
        assert out.dtype == np.float32 and out.ndim == 1
        assert abs(out.shape[0] - clip.shape[0]) < SAMPLE_RATE * 0.05
    pcm = (clip * 32767).astype("<i2").tobytes()
    assert decode_audio(pcm, "audio/L16; rate=16000").shape == clip.shape


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"", None, 400, "empty_audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10, None, 415, "unsupported_audio"),
        (wav_bytes(np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE), None, 422, "silent_audio"),
        (b"\x00\x01\x02", "audio/L16; rate=16000", 415, "unsupported_audio"),
    ],
)
def test_decoder_refuses_bad_audio(data, content_type, status, code) -> None:
    with pytest.raises(TriageError) as info:
        decode_audio(data, content_type)
    assert (info.value.status, info.value.code) == (status, code)


def test_duration_limit_is_configurable() -> None:
    tone = (0.1 * np.sin(np.arange(SAMPLE_RATE * 3) / 10)).astype(np.float32)
    short = replace(get_settings(), max_audio_seconds=2.0)
    with pytest.raises(TriageError) as info:
        decode_audio(wav_bytes(tone, SAMPLE_RATE), settings=short)
    assert info.value.status == 413 and info.value.code == "audio_too_long"
