"""Binary audio frames of a call, checked and turned into 16 kHz float32 as they arrive.

Frames are resampled with a streaming resampler (its filter state carries across frames), so
a browser's 48 kHz microphone and a phone line's 8 kHz give the models the same 16 kHz signal
that uploads get, without clicks at frame borders.
"""

from __future__ import annotations

import numpy as np
import soxr

from triage.calls.protocol import CallError, CloseCode, Start
from triage.config import SAMPLE_RATE, Settings

ENCODINGS = ("pcm_s16le",)
BYTES_PER_SAMPLE = 2


def check_start(start: Start, settings: Settings, language: str) -> None:
    """Refuse a ``start`` whose audio the server cannot take."""
    if start.encoding not in ENCODINGS:
        raise CallError(
            CloseCode.UNSUPPORTED_ENCODING,
            "unsupported_encoding",
            f"Encoding {start.encoding!r} is not served; send {', '.join(ENCODINGS)}.",
        )
    if start.sample_rate not in settings.call_sample_rates:
        rates = ", ".join(map(str, settings.call_sample_rates))
        raise CallError(
            CloseCode.BAD_SAMPLE_RATE,
            "bad_sample_rate",
            f"Sample rate {start.sample_rate} Hz is not accepted; use one of {rates}.",
        )
    if start.language is not None and start.language != language:
        raise CallError(
            CloseCode.BAD_START,
            "bad_start",
            f"Language {start.language!r} is not served; this server hears {language!r}.",
        )
    if len(start.hotwords) > settings.max_lexicon_words:
        raise CallError(
            CloseCode.BAD_START,
            "bad_start",
            f"At most {settings.max_lexicon_words} hotwords, got {len(start.hotwords)}.",
        )


class FrameDecoder:
    """PCM frames of one call in, 16 kHz mono float32 out."""

    def __init__(self, sample_rate: int, settings: Settings) -> None:
        self.sample_rate = sample_rate
        self.min_samples = round(sample_rate * settings.call_min_frame_ms / 1000)
        self.max_samples = round(sample_rate * settings.call_max_frame_ms / 1000)
        self.min_frame_ms = settings.call_min_frame_ms
        self.max_frame_ms = settings.call_max_frame_ms
        self.resampler = (
            None
            if sample_rate == SAMPLE_RATE
            else soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32")
        )

    def decode(self, frame: bytes) -> np.ndarray:
        """One frame as 16 kHz samples, or a :class:`CallError` for a bad frame."""
        if len(frame) % BYTES_PER_SAMPLE:
            raise CallError(
                CloseCode.BAD_PCM,
                "bad_pcm",
                f"A pcm_s16le frame holds whole 2-byte samples; got {len(frame)} bytes.",
            )
        samples = len(frame) // BYTES_PER_SAMPLE
        if not self.min_samples <= samples <= self.max_samples:
            ms = 1000 * samples / self.sample_rate
            raise CallError(
                CloseCode.BAD_FRAME_SIZE,
                "bad_frame_size",
                f"Frames must hold {self.min_frame_ms:g} to {self.max_frame_ms:g} ms of audio; "
                f"got {ms:.1f} ms.",
            )
        audio = np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
        if self.resampler is not None:
            audio = self.resampler.resample_chunk(audio)
        return audio

    def flush(self) -> np.ndarray:
        """What the resampler still holds at the end of the call."""
        if self.resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self.resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
