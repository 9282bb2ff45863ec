"""The short-time Fourier transform, mel filterbank and decibel scale of the audio features, in
NumPy alone.

They compute exactly what ``librosa.stft`` (centred, zero-padded, periodic Hann window),
``librosa.filters.mel`` (Slaney mel scale and norm) and ``librosa.power_to_db`` compute, bit
for bit (``tests/test_audio_classifier.py`` compares them), without importing librosa:
librosa's import pulls in numba and LLVM and its first ``stft`` compiles kernels, about 0.2 GB
of the audio runner's memory (measured: 267 -> 461 MiB USS over the first clip) for three
functions of a few lines each. The formulas follow librosa 0.11 (ISC licence).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_MEL_F_SP = 200.0 / 3
"""Hz per mel below 1 kHz on the Slaney scale, which is linear there and logarithmic above."""
_MEL_MIN_LOG_HZ = 1000.0
_MEL_LOGSTEP = np.log(6.4) / 27.0


@lru_cache(maxsize=4)
def hann_window(n: int) -> np.ndarray:
    """The periodic ("fftbins") Hann window of ``n`` samples, float64, as SciPy builds it;
    built once per size (every window of every clip uses it), read-only."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    window = np.zeros(n + 1)
    for k, a in enumerate((0.5, 0.5)):
        window += a * np.cos(k * fac)
    window = window[:-1]
    window.flags.writeable = False
    return window


def stft_power(wave: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``|STFT|^2`` ``[1 + n_fft // 2, frames]`` (float32) of a float32 wave, centred with
    ``n_fft // 2`` zeros each side, each frame weighed by the periodic Hann window."""
    padded = np.pad(np.asarray(wave, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    spec = np.fft.rfft(hann_window(n_fft) * frames, axis=-1).astype(np.complex64).T
    return spec.real**2 + spec.imag**2


def _hz_to_mel(hz: float) -> float:
    if hz >= _MEL_MIN_LOG_HZ:
        return _MEL_MIN_LOG_HZ / _MEL_F_SP + np.log(hz / _MEL_MIN_LOG_HZ) / _MEL_LOGSTEP
    return hz / _MEL_F_SP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _MEL_F_SP * mels
    log = mels >= _MEL_MIN_LOG_HZ / _MEL_F_SP
    hz[log] = _MEL_MIN_LOG_HZ * np.exp(_MEL_LOGSTEP * (mels[log] - _MEL_MIN_LOG_HZ / _MEL_F_SP))
    return hz


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``[n_mels, 1 + n_fft // 2]`` float32 triangular filters, Slaney mel scale, each scaled
    to unit area (Slaney's norm)."""
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((n_mels, fft_hz.size), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    return weights


def power_to_db(power: np.ndarray, ref: float, amin: float, top_db: float) -> np.ndarray:
    """``10 log10(power / ref)``, power floored at ``amin``, the result at ``top_db`` below
    its maximum."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(np.maximum(amin, np.abs(ref)))
    return np.maximum(db, db.max() - top_db)
