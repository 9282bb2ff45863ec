"""Whisper on real Korean speech: both engines, batching across clips, long clips, audio input.

Bounds were measured on the 14 clips of ``shared/audio/speech`` with Whisper base, greedy:
CTranslate2 int8 mean CER 0.114, openai-whisper (converted weights, float32) 0.11-0.12,
mean CER between the two engines' transcripts about 0.03. With the default decoding since
(beam 5, VAD, fallback): 0.089 and 0.092, 0.022 between them. The bounds leave margin for
thread-count nondeterminism, not for regressions.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.shared_audio import SPEECH_DIR, read_manifest
from triage.analyze import correction_items
from triage.audio import decode_audio
from triage.config import SAMPLE_RATE, get_settings
from triage.errors import TriageError
from triage.metrics import cer, normalise_for_cer
from triage.whisper.chunks import WINDOW_FRAMES, Window, context_frames
from triage.whisper.engines import (
    CTranslate2Engine,
    OpenAIWhisperEngine,
    call_decoding,
    clip_logprob,
    clip_no_speech_prob,
    load_engine,
    needs_fallback,
)
from triage.whisper.schemas import NOTHING_HEARD_LOGPROB, Segment, Transcript

MAX_MEAN_CER = {"ctranslate2": 0.2, "openai": 0.2}
MAX_ENGINE_DISAGREEMENT = 0.1
MAX_SHORT_CONTEXT_CER_LOSS = 0.01
"""The short encoder context is served only while it costs under one CER point (see docs/PERFORMANCE.md)."""


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


def test_beam_keeps_its_hypotheses_for_the_corrector(engines, clips, transcripts) -> None:
    """Each window decoded by beam search keeps its beam's distinct hypotheses, the transcribed
    one first; greedy decoding and the openai engine have none to give."""
    with_alternatives = 0
    for t in transcripts["ctranslate2"]:
        for window in t.alternatives:
            heard = " ".join(t.segments[i].text for i in window.segments)
            assert normalise_for_cer(window.hypotheses[0].text) == normalise_for_cer(heard)
            assert len({h.text for h in window.hypotheses}) == len(window.hypotheses) > 1
            assert all(h.logprob < 0 for h in window.hypotheses)
        with_alternatives += bool(t.alternatives)
    print(f"{with_alternatives} of {len(transcripts['ctranslate2'])} clips with alternatives")
    assert with_alternatives >= len(transcripts["ctranslate2"]) // 2
    assert not any(t.alternatives for t in transcripts["openai"])
    greedy = engines["ctranslate2"].with_decoding(call_decoding(get_settings()))
    [t] = greedy.transcribe_batch([clips[1][0]])
    assert t.text and t.alternatives == []
    # switched off, the beam decodes as faster-whisper's own: the same text, no alternatives
    [served] = engines["ctranslate2"].transcribe_batch([clips[1][0]])
    best_only = engines["ctranslate2"].with_decoding(replace(get_settings(), whisper_alternatives=False))
    [t] = best_only.transcribe_batch([clips[1][0]])
    assert t.text == served.text and t.alternatives == []


def test_correction_items_join_a_window_that_has_alternatives(transcripts) -> None:
    """The corrector gets one item per window with alternatives (each hypothesis spans the window)."""
    for t in transcripts["ctranslate2"]:
        items = correction_items(t)
        joined = " ".join(it.segment.text for it in items)
        assert normalise_for_cer(joined) == normalise_for_cer(t.text)
        with_nbest = [it for it in items if it.segment.nbest]
        assert len(with_nbest) == len(t.alternatives)
        for it, window in zip(with_nbest, t.alternatives, strict=True):
            assert [n.text for n in it.segment.nbest] == [h.text for h in window.hypotheses]
            assert it.segment.start == t.segments[window.segments[0]].start


def test_short_context_covers_each_window_plus_a_margin() -> None:
    assert context_frames(0.2) == 200
    assert context_frames(4.2) == 600
    assert context_frames(5.0) == 600
    assert context_frames(29.5) == context_frames(60.0) == WINDOW_FRAMES


def test_short_context_encodes_each_length_over_its_own_context(engines, clips, monkeypatch) -> None:
    """A short clip is encoded over its own seconds plus the margin, not Whisper's 30 s, and a
    batch of mixed lengths is encoded per length, so a short clip never pays for a long one."""
    _, audio = clips
    engine = engines["ctranslate2"]
    shapes: list[tuple[int, int]] = []
    encode = engine.model.encode

    def spy_encode(features):
        shapes.append((features.shape[0], features.shape[-1]))
        return encode(features)

    monkeypatch.setattr(engine.model, "encode", spy_encode)
    # Without VAD, which would cut the long clip's silent tail and leave three equal lengths.
    monkeypatch.setattr(engine, "settings", replace(engine.settings, whisper_vad=False))
    long_clip = np.concatenate([audio[0], np.zeros(12 * SAMPLE_RATE, np.float32)])
    engine.transcribe_batch([audio[0], long_clip, audio[0]])
    expected = {
        (2, context_frames(audio[0].shape[0] / SAMPLE_RATE)),
        (1, context_frames(long_clip.shape[0] / SAMPLE_RATE)),
    }
    assert set(shapes) == expected and all(frames < WINDOW_FRAMES for _, frames in shapes)


def test_short_context_transcribes_like_the_full_window(whisper_model, clips, transcripts) -> None:
    """The served short context against today's full 30-s window on the same clips: close
    transcripts, no worse CER against the references, word times inside each clip."""
    rows, audio = clips
    full_settings = replace(get_settings(), whisper_engine="ctranslate2", whisper_short_context=False)
    full = load_engine(whisper_model, full_settings, "cpu").transcribe_batch(audio)
    short = transcripts["ctranslate2"]
    disagreement = float(np.mean([cer(a.text, b.text) for a, b in zip(full, short, strict=True)]))
    full_cer = float(np.mean([cer(r["transcript"], t.text) for r, t in zip(rows, full, strict=True)]))
    short_cer = float(np.mean([cer(r["transcript"], t.text) for r, t in zip(rows, short, strict=True)]))
    print(f"CER full {full_cer:.3f}, short {short_cer:.3f}; between them {disagreement:.3f}")
    assert short_cer <= full_cer + MAX_SHORT_CONTEXT_CER_LOSS
    assert disagreement < MAX_ENGINE_DISAGREEMENT
    for t in short:  # faster-whisper may start the first word a few ms before 0, on either context
        assert all(-0.05 <= w.start <= w.end <= t.duration_s + 0.5 for s in t.segments for w in s.words)


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


def utterances_with_pauses(audio: list[np.ndarray], picks: list[int]) -> np.ndarray:
    pause = np.zeros(SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([x for i in picks for x in (audio[i], pause)])


def transcribe_counting_tokens(engine, clip: np.ndarray, monkeypatch) -> tuple[Transcript, list[int]]:
    """The engine's transcript of ``clip`` and each segment's decoded token count, read off the
    engine's own decoder output (faster-whisper segments, or openai-whisper token slices)."""
    counts: list[int] = []
    if isinstance(engine, CTranslate2Engine):
        decode = engine.pipeline.transcribe

        def spy_decode(*args, **kwargs):
            segments, info = decode(*args, **kwargs)
            segments = list(segments)
            counts.extend(len(s.tokens) for s in segments)
            return segments, info

        monkeypatch.setattr(engine.pipeline, "transcribe", spy_decode)
    else:
        split = engine._split_segments

        def spy_split(tokens, offset_s):
            segments = split(tokens, offset_s)
            counts.extend(len(s["tokens"]) for s in segments)
            return segments

        monkeypatch.setattr(engine, "_split_segments", spy_split)
    [transcript] = engine.transcribe_batch([clip])
    monkeypatch.undo()
    return transcript, counts


@pytest.mark.parametrize("engine", ["ctranslate2", "openai"])
def test_clip_logprob_is_token_weighted_over_all_segments(engine, engines, clips, monkeypatch) -> None:
    """Seven utterances (~33 s, two windows): the clip's score weighs every segment by its tokens.

    Both engines score a 30-s window as a whole, so segments share their window's value; the
    clip-level figure must weigh the long first window more than the short second one, not
    take the last segment's value or a plain mean over windows.
    """
    _, audio = clips
    clip = utterances_with_pauses(audio, [0, 1, 7, 8, 10, 11, 13])
    t, counts = transcribe_counting_tokens(engines[engine], clip, monkeypatch)
    values = [s.avg_logprob for s in t.segments]
    assert len(counts) == len(values) > 1 and len(set(values)) > 1, "want segments in two windows"
    expected = sum(n * v for n, v in zip(counts, values, strict=True)) / sum(counts)
    print(f"{engine}: {len(values)} segments, clip {t.avg_logprob:.4f}, last segment {values[-1]:.4f}")
    assert t.avg_logprob == pytest.approx(expected, abs=1e-9)
    assert t.avg_logprob != pytest.approx(values[-1], abs=1e-4)
    assert min(values) <= t.avg_logprob <= max(values)


def test_silent_window_is_not_counted_as_confident(engines, clips) -> None:
    """Speech then 25 s of silence: the silent window raises the clip's no-speech probability."""
    _, audio = clips
    speech = utterances_with_pauses(audio, [0, 1, 7, 8])
    [alone, padded] = engines["ctranslate2"].transcribe_batch(
        [speech, np.concatenate([speech, np.zeros(25 * SAMPLE_RATE, dtype=np.float32)])]
    )
    print(
        f"speech only: logprob {alone.avg_logprob:.4f} no-speech {alone.no_speech_prob:.4f}; "
        f"with silence: logprob {padded.avg_logprob:.4f} no-speech {padded.no_speech_prob:.4f}"
    )
    # Whisper may still hallucinate a confident word into the silence (beam search does), so
    # only the no-speech side is asserted: the silent window must count as no speech.
    assert padded.no_speech_prob > alone.no_speech_prob + 0.2


def test_windows_without_segments_count_as_no_speech() -> None:
    """Whisper may transcribe nothing in a window: that window is not 0.0 (certain) speech."""
    rate = SAMPLE_RATE

    def seg(logprob: float, no_speech: float) -> Segment:
        return Segment(id=0, start=0.0, end=1.0, text="말", avg_logprob=logprob, no_speech_prob=no_speech)

    speech = Window(0, 0.0, np.zeros(30 * rate, dtype=np.float32))
    silence = Window(0, 30.0, np.zeros(10 * rate, dtype=np.float32))
    heard = [(seg(-0.2, 0.1), 30), (seg(-0.2, 0.1), 10)]
    assert clip_logprob(heard) == pytest.approx(-0.2)
    assert clip_logprob([(seg(-0.2, 0.1), 30), (seg(-1.0, 0.5), 10)]) == pytest.approx(-0.4)
    assert clip_no_speech_prob([(speech, heard), (silence, [])]) == pytest.approx((0.1 * 30 + 10) / 40)
    assert clip_logprob([]) == NOTHING_HEARD_LOGPROB < -10
    assert clip_no_speech_prob([(silence, [])]) == 1.0


@pytest.mark.parametrize("name", ["ctranslate2", "openai"])
def test_vad_decodes_speech_only_in_clip_time(name, whisper_model, clips, transcripts) -> None:
    """``TRIAGE_WHISPER_VAD``: silence around speech is cut before decoding, times stay clip times."""
    _, audio = clips
    lead = 8.0
    speech_s = audio[0].shape[0] / SAMPLE_RATE
    padded = np.concatenate(
        [np.zeros(int(lead * SAMPLE_RATE), np.float32), audio[0], np.zeros(5 * SAMPLE_RATE, np.float32)]
    )
    settings = replace(get_settings(), whisper_engine=name, whisper_vad=True)
    engine = load_engine(whisper_model, settings, "cpu")
    [heard, silence] = engine.transcribe_batch([padded, np.zeros(3 * SAMPLE_RATE, np.float32)])
    assert cer(transcripts[name][0].text, heard.text) < 0.1
    words = [w for s in heard.segments for w in s.words]
    # The speech VAD finds is padded by whisper_vad_pad_ms on each side.
    pad = settings.whisper_vad_pad_ms / 1000 + 0.1
    assert words and all(lead - pad <= w.start <= w.end <= lead + speech_s + pad for w in words)
    assert silence.segments == [] and silence.no_speech_prob == 1.0


def test_call_decoding_shares_the_weights_and_decodes_greedily(engines, whisper_model, clips) -> None:
    """Live calls decode greedily, without fallback, on the served engine's own weights: the same
    text as a greedy engine loaded on its own, while the served engine keeps its beam."""
    _, audio = clips
    served = engines["ctranslate2"]
    live = served.with_decoding(call_decoding(served.settings))
    greedy_settings = replace(served.settings, whisper_beam_size=1, whisper_temperature_fallback=False)
    greedy = load_engine(whisper_model, greedy_settings, "cpu")
    assert live.model is served.model and live.options["beam_size"] == 1
    assert live.pipeline is not served.pipeline  # faster-whisper's pipeline keeps per-decode state
    assert served.options["beam_size"] == served.settings.whisper_beam_size
    texts = [t.text for t in live.transcribe_batch(audio[:3])]
    assert texts == [t.text for t in greedy.transcribe_batch(audio[:3])]


def test_needs_fallback_follows_faster_whisper_thresholds() -> None:
    def window(text: str, logprob: float, no_speech: float) -> list[tuple[Segment, int]]:
        return [
            (Segment(id=0, start=0.0, end=1.0, text=text, avg_logprob=logprob, no_speech_prob=no_speech), 9)
        ]

    assert not needs_fallback([])
    assert not needs_fallback(window("선생님, 애석한 마음을 금할 길이 없습니다.", -0.3, 0.01))
    assert needs_fallback(window("살려주세요 " * 30, -0.3, 0.01))  # repetitive
    assert needs_fallback(window("선생님", -1.5, 0.1))  # improbable
    assert not needs_fallback(window("선생님", -1.5, 0.9))  # improbable, but likely silence


def test_fallback_decode_gives_clip_times(whisper_model, clips, transcripts) -> None:
    """A window re-decoded on fallback lands at its place in the clip, with word timings."""
    _, audio = clips
    settings = replace(get_settings(), whisper_temperature_fallback=True)
    engine = CTranslate2Engine(whisper_model / "ct2", settings, "cpu")
    offset = 30.0
    result = engine._decode_with_fallback(audio[0], lambda t: offset + t)
    text = " ".join(seg.text for seg, _ in result)
    assert cer(transcripts["ctranslate2"][0].text, text) < 0.1
    assert all(offset <= w.start <= w.end for seg, _ in result for w in seg.words)
    assert all(tokens > 0 for _, tokens in result)


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
