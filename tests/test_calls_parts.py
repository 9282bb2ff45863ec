"""The parts of a live call that need no server: utterance cutting, agreement, frame decoding."""

from __future__ import annotations

import numpy as np
import pytest

from harness.call_client import call_audio, frames
from harness.shared_audio import SPEECH_DIR
from triage.calls.agreement import LocalAgreement
from triage.calls.frames import FrameDecoder
from triage.calls.protocol import CallError, CloseCode
from triage.calls.vad import Segmenter
from triage.config import SAMPLE_RATE, get_settings

CLIPS = [SPEECH_DIR / f"emotiontts_{n}.wav" for n in ("lmy02120", "neb00201", "pma00006")]


def test_each_sentence_of_a_real_call_is_one_utterance() -> None:
    """Three clips with a second of silence after each: three utterances, in order, inside the clips."""
    pcm, rate = call_audio(CLIPS)
    decoder = FrameDecoder(rate, get_settings())
    segmenter = Segmenter(get_settings())
    utterances = []
    for frame in frames(pcm, rate):
        utterances += segmenter.push(decoder.decode(frame))
    utterances += segmenter.flush(decoder.flush())
    assert [u.index for u in utterances] == [0, 1, 2]
    bounds, offset = [], 0.0
    for clip in CLIPS:
        seconds = len(call_audio([clip])[0]) / rate
        bounds.append((offset, offset + seconds))
        offset += seconds
    for utterance, (begin, end) in zip(utterances, bounds, strict=True):
        assert begin <= utterance.start_s < utterance.end_s <= end
        assert len(utterance.audio) == pytest.approx(utterance.duration_s * SAMPLE_RATE, abs=480)


def test_silence_and_a_click_make_no_utterance() -> None:
    segmenter = Segmenter(get_settings())
    silence = np.zeros(SAMPLE_RATE * 3, dtype=np.float32)
    click = np.zeros(SAMPLE_RATE, dtype=np.float32)
    click[8000:8100] = 0.9
    assert segmenter.push(silence) == []
    assert segmenter.push(click) == [] and segmenter.flush(silence) == []


def test_stable_text_is_what_two_decodes_agree_on_and_only_grows() -> None:
    agreement = LocalAgreement()
    assert agreement.update("불이 났어요") == ([], ["불이", "났어요"])
    assert agreement.update("불이 났어요 여기") == (["불이", "났어요"], ["여기"])
    assert agreement.update("불이 났어요 여기 아파트") == (["불이", "났어요", "여기"], ["아파트"])
    # A decode that rewrites the agreed words does not take them back.
    assert agreement.update("부리 나써요")[0] == ["불이", "났어요", "여기"]


def test_frames_are_resampled_to_16_khz() -> None:
    decoder = FrameDecoder(48_000, get_settings())
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000) * 32767).astype("<i2")
    out = np.concatenate([decoder.decode(tone[i : i + 4800].tobytes()) for i in range(0, 48_000, 4800)])
    out = np.concatenate([out, decoder.flush()])
    assert len(out) == pytest.approx(SAMPLE_RATE, abs=16)
    assert np.abs(out).max() == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(
    ("frame", "close"),
    [
        (b"\0" * 3201, CloseCode.BAD_PCM),
        (b"\0" * 100, CloseCode.BAD_FRAME_SIZE),
        (b"\0" * 64_000, CloseCode.BAD_FRAME_SIZE),
    ],
    ids=["odd bytes", "3 ms", "2 s"],
)
def test_bad_frames_are_refused(frame: bytes, close: CloseCode) -> None:
    with pytest.raises(CallError) as refused:
        FrameDecoder(SAMPLE_RATE, get_settings()).decode(frame)
    assert refused.value.close == close
