"""Decode uploaded audio in memory into 16 kHz mono float32, refusing what is not usable speech.

Every model of the graph consumes the same waveform, so decoding, down-mixing,
resampling and validation happen once, here, and never touch the disk: uploads are
read from bytes with libsndfile (WAV, FLAC, OGG, MP3, ...) and, for containers it does
not know (WebM/Opus from browsers, M4A), with PyAV (FFmpeg) from an in-memory buffer.
"""

from __future__ import annotations

import io
import re

import numpy as np
import soundfile as sf
import soxr

from triage.config import SAMPLE_RATE, Settings, get_settings
from triage.errors import TriageError

RAW_PCM_TYPES = ("audio/l16", "audio/pcm", "audio/x-raw")
"""Content types taken as raw signed 16-bit little-endian PCM (``;rate=`` and ``;channels=``)."""


def decode_audio(
    data: bytes, content_type: str | None = None, settings: Settings | None = None
) -> np.ndarray:
    """Return the clip as 16 kHz mono float32 samples, or raise a :class:`TriageError` (4xx).

    Refuses empty uploads (400), bytes that are no audio (415), clips longer than
    ``settings.max_audio_seconds`` (413) or shorter than ``settings.min_audio_seconds`` (422),
    samples that are not finite (422) and clips whose level is below ``settings.silence_dbfs`` (422).
    """
    settings = settings or get_settings()
    if not data:
        raise TriageError(400, "empty_audio", "The uploaded audio is empty (0 bytes).")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in RAW_PCM_TYPES:
        samples, rate = _decode_raw_pcm(data, content_type or "")
    else:
        samples, rate = _decode_container(data, settings.max_audio_seconds)
    return validate_waveform(_to_mono(samples), rate, settings)


def validate_waveform(samples: np.ndarray, rate: int, settings: Settings | None = None) -> np.ndarray:
    """Resample a mono waveform to 16 kHz and apply the duration, finiteness and silence checks."""
    settings = settings or get_settings()
    if samples.size == 0:
        raise TriageError(400, "empty_audio", "The audio holds no samples.")
    seconds = samples.shape[0] / rate
    _check_duration(seconds, settings.max_audio_seconds)
    if seconds < settings.min_audio_seconds:
        raise TriageError(
            422,
            "audio_too_short",
            f"The audio lasts {seconds * 1000:.0f} ms; "
            f"at least {settings.min_audio_seconds * 1000:.0f} ms is needed.",
        )
    if not np.all(np.isfinite(samples)):
        raise TriageError(422, "invalid_samples", "The audio holds NaN or infinite samples.")
    samples = samples.astype(np.float32, copy=False)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32, copy=False)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 1.0:  # integer-scaled or clipped float input: bring it back to [-1, 1]
        samples = samples / peak
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    level = 20.0 * np.log10(rms) if rms > 0 else float("-inf")
    if level < settings.silence_dbfs:
        raise TriageError(
            422,
            "silent_audio",
            f"The audio is silent (level {level:.1f} dBFS, below {settings.silence_dbfs:.0f} dBFS).",
        )
    return np.ascontiguousarray(samples)


def _check_duration(seconds: float, limit: float) -> None:
    if seconds > limit:
        raise TriageError(
            413,
            "audio_too_long",
            f"The audio lasts {seconds:.1f} s; the limit is {limit:.0f} s.",
            duration_s=round(seconds, 3),
            limit_s=limit,
        )


def _to_mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def _decode_raw_pcm(data: bytes, content_type: str) -> tuple[np.ndarray, int]:
    params = dict(re.findall(r"(\w+)\s*=\s*([\w.]+)", content_type.lower()))
    rate = int(params.get("rate", SAMPLE_RATE))
    channels = int(params.get("channels", 1))
    if not 1000 <= rate <= 384_000 or not 1 <= channels <= 8:
        raise TriageError(415, "unsupported_audio", "Raw PCM needs 1-8 channels and a sane rate.")
    frame = 2 * channels
    if len(data) % frame:
        raise TriageError(415, "unsupported_audio", "Raw PCM length is not a whole number of frames.")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return samples.reshape(-1, channels), rate


def _decode_container(data: bytes, max_seconds: float) -> tuple[np.ndarray, int]:
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            if f.frames > 0 and f.samplerate > 0:
                _check_duration(f.frames / f.samplerate, max_seconds)
            samples = f.read(dtype="float32", always_2d=True)
            return samples, f.samplerate
    except TriageError:
        raise
    except Exception:  # libsndfile does not know the container: let FFmpeg try
        pass
    return _decode_with_av(data, max_seconds)


def _decode_with_av(data: bytes, max_seconds: float) -> tuple[np.ndarray, int]:
    import av  # PyAV, shipped with faster-whisper; imported lazily, only for exotic containers

    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise TriageError(415, "unsupported_audio", "The upload holds no audio stream.")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks: list[np.ndarray] = []
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                    _check_duration(total / SAMPLE_RATE, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except TriageError:
        raise
    except Exception as exc:
        raise TriageError(
            415,
            "unsupported_audio",
            "The upload is not audio in a supported format (WAV, FLAC, OGG, MP3, WebM, M4A, raw PCM).",
        ) from exc
    if not chunks:
        raise TriageError(415, "unsupported_audio", "The upload decodes to no audio samples.")
    return np.concatenate(chunks).astype(np.float32), SAMPLE_RATE
