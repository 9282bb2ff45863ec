"""The one preprocessing path of the audio classifier, shared by training, evaluation and serving.

The original project trained on min-max scaled, resized RGBA spectrogram images and served
z-scored, ``np.resize``-d arrays: the model never saw at serving what it learned from. Here
training, evaluation and the runner all call :func:`clip_windows` / :func:`clip_features`
with the :class:`FeatureParams` stored in the model's metadata, so a served clip is turned
into exactly the tensors the network was trained and evaluated on.

A clip becomes one or more fixed-length windows (zero-padded when short, sliding with
``hop_s`` when long); each window becomes a log-mel spectrogram scaled to its own peak
(``ref=max``, so the caller's gain does not matter), floored at ``-top_db`` and z-scored
per window. Window probabilities are averaged per clip (:func:`aggregate`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse

from triage.audio_classifier.spectrum import mel_filterbank, power_to_db, stft_power
from triage.config import SAMPLE_RATE


@dataclass(frozen=True)
class FeatureParams:
    """Everything that decides what the network sees; stored with the model, read back at serving."""

    sample_rate: int = SAMPLE_RATE
    window_s: float = 4.0
    hop_s: float = 2.0
    """Stride of the sliding windows over clips longer than ``window_s``."""
    n_fft: int = 1024
    hop_length: int = 320
    """20 ms frames: 201 frames per 4 s window keeps the ResNet cheap on two CPU cores."""
    n_mels: int = 64
    fmin: float = 20.0
    fmax: float = 8000.0
    top_db: float = 80.0
    """Floor below the window's peak; keeps zero padding from dominating the normalisation."""

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate))

    @property
    def hop_samples(self) -> int:
        return int(round(self.hop_s * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return 1 + self.window_samples // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureParams:
        """Rebuild from model metadata, ignoring keys a newer version may have added."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def clip_windows(wave: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Cut a 16 kHz mono clip into ``[n_windows, window_samples]`` float32 windows.

    Short clips are zero-padded at the end; long clips slide with ``hop_s`` and the last
    window is aligned to the clip's end so no tail is dropped.
    """
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    size, hop = params.window_samples, params.hop_samples
    if wave.size <= size:
        out = np.zeros((1, size), dtype=np.float32)
        out[0, : wave.size] = wave
        return out
    starts = list(range(0, wave.size - size + 1, hop))
    if starts[-1] + size < wave.size:
        starts.append(wave.size - size)
    return np.stack([wave[s : s + size] for s in starts]).astype(np.float32, copy=False)


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> sparse.csr_matrix:
    """The mel filterbank as a sparse matrix.

    Each filter covers a few FFT bins, so a sparse product is ~100x less work than a dense
    one, and it avoids BLAS threads, which thrash on a busy two-core machine.
    """
    return sparse.csr_matrix(mel_filterbank(sr, n_fft, n_mels, fmin, fmax))


def window_features(window: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Log-mel ``[n_mels, n_frames]`` of one window, peak-referenced and z-scored (float32)."""
    power = stft_power(np.asarray(window, dtype=np.float32), params.n_fft, params.hop_length)
    mel = _mel_basis(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax) @ power
    peak = float(mel.max())
    if peak <= 0.0:  # an all-zero window: nothing to normalise, feed zeros
        return np.zeros((params.n_mels, params.n_frames), dtype=np.float32)
    logmel = power_to_db(mel, ref=peak, amin=1e-10, top_db=params.top_db)
    logmel = (logmel - logmel.mean()) / (logmel.std() + 1e-5)
    return logmel.astype(np.float32)


def clip_features(wave: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Features of a whole clip: ``[n_windows, 1, n_mels, n_frames]``, ready for the network."""
    windows = clip_windows(wave, params)
    return np.stack([window_features(w, params) for w in windows])[:, None, :, :]


def aggregate(window_probs: np.ndarray, counts: list[int]) -> np.ndarray:
    """Mean of window probabilities per clip; ``counts`` says how many windows each clip has."""
    out = []
    start = 0
    for n in counts:
        out.append(window_probs[start : start + n].mean(axis=0))
        start += n
    return np.stack(out)
