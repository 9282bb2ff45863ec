"""Waveform helpers the audio data generator shares: filters, noise, reverb, mixing, phone channel.

Every synthesised example ends as ``degrade(mix(foreground, ambient))``, so a model trained
on them has heard the level, noise and band limits of real emergency calls, not studio sound.
All waveforms are 16 kHz mono float arrays.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from triage.config import SAMPLE_RATE as SR


def time_axis(seconds: float) -> np.ndarray:
    """Sample times, in seconds, of a clip ``seconds`` long."""
    return np.arange(int(seconds * SR)) / SR


def peak_normalise(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to a peak of 1 as float32 (silence stays silence), so generators share one level."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x / peak).astype(np.float32) if peak > 0 else x.astype(np.float32)


def rms(x: np.ndarray) -> float:
    """Root mean square level, never zero (it divides SNR and loudness ratios)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12


def bandpass(x: np.ndarray, lo: float | None, hi: float | None, order: int = 4) -> np.ndarray:
    """Butterworth band-pass; without ``lo`` a low-pass, without ``hi`` a high-pass, without both ``x``."""
    if lo and hi:
        sos = signal.butter(order, [lo, hi], btype="bandpass", fs=SR, output="sos")
    elif lo:
        sos = signal.butter(order, lo, btype="highpass", fs=SR, output="sos")
    elif hi:
        sos = signal.butter(order, hi, btype="lowpass", fs=SR, output="sos")
    else:
        return x
    return signal.sosfilt(sos, x).astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    freqs[0] = freqs[1]
    spec = spec / freqs ** (exponent / 2)
    return peak_normalise(np.fft.irfft(spec, n))


def reverb(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random small-to-medium room: exponentially decaying noise impulse response, same peak as ``x``."""
    rt = rng.uniform(0.15, 0.8)
    n = int(rt * SR)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir[0] = 1.0 / rng.uniform(0.05, 0.3)
    wet = signal.fftconvolve(x, ir)[: x.size]
    return peak_normalise(wet) * float(np.max(np.abs(x)))


def fit_length(rng: np.random.Generator, x: np.ndarray, n: int) -> np.ndarray:
    """Random crop to ``n`` samples, or place at a random offset in ``n`` samples of silence."""
    if x.size >= n:
        start = int(rng.integers(0, x.size - n + 1))
        return x[start : start + n].copy()
    out = np.zeros(n, dtype=np.float32)
    start = int(rng.integers(0, n - x.size + 1))
    out[start : start + x.size] = x
    return out


def degrade(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Channel effects of a phone call: reverb, telephone band, gain, clipping."""
    if rng.random() < 0.25:
        x = reverb(rng, x)
    if rng.random() < 0.3:
        x = bandpass(x, 300, 3400)
    x = peak_normalise(x) * 10 ** (rng.uniform(-30, -1) / 20)
    if rng.random() < 0.15:
        x = np.clip(x * rng.uniform(2, 8), -1, 1)
    return x.astype(np.float32)


def mix(
    rng: np.random.Generator, fg: np.ndarray | None, ambient: np.ndarray, snr_db: tuple[float, float]
) -> np.ndarray:
    """Foreground over ambient at a random SNR (ambient alone when ``fg`` is None)."""
    if fg is None:
        return ambient
    noise = ambient * (rms(fg) / rms(ambient)) * 10 ** (-rng.uniform(*snr_db) / 20)
    return fg + noise
