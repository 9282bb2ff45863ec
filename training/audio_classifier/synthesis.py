"""Procedural emergency and background sounds, each drawn afresh from a random generator.

No corpus of Korean emergency sounds is reachable here, so alarms, impacts, screams, sobbing
and ordinary background are synthesised: every call draws its own pitch, timing, timbre and
length, which gives the classifier endless variants and a held-out split that shares no
source with training. Each returns a peak-normalised 16 kHz waveform.
"""

from __future__ import annotations

import numpy as np

from training.audio_classifier.signals import bandpass, coloured_noise, fit_length, peak_normalise, time_axis
from triage.config import SAMPLE_RATE as SR


def synth_siren(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Wail, yelp or hi-lo siren: a swept or alternating tone with harmonics."""
    t = time_axis(seconds)
    kind = rng.choice(["wail", "yelp", "hilo", "rise"])
    if kind == "wail" or kind == "yelp":
        period = rng.uniform(2.0, 6.0) if kind == "wail" else rng.uniform(0.12, 0.45)
        f = rng.uniform(550, 1000) + rng.uniform(250, 700) * np.sin(
            2 * np.pi * t / period + rng.uniform(0, 6)
        )
    elif kind == "hilo":
        lo = rng.uniform(400, 800)
        seg = rng.uniform(0.3, 0.8)
        f = np.where((t // seg) % 2 == 0, lo, lo * rng.uniform(1.2, 1.5))
    else:
        period = rng.uniform(1.0, 3.0)
        f = rng.uniform(500, 800) + rng.uniform(400, 900) * ((t / period) % 1.0)
    phase = 2 * np.pi * np.cumsum(f) / SR
    n_h = int(rng.integers(1, 6))
    x = sum(np.sin(k * phase) / k ** rng.uniform(0.8, 1.6) for k in range(1, n_h + 1))
    x = x * (1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t))
    return peak_normalise(np.asarray(x))


def synth_beeper(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Smoke/fire alarm beeps (T3 or continuous pulses), buzzers and electronic alarms."""
    t = time_axis(seconds)
    f0 = rng.choice([rng.uniform(2800, 3600), rng.uniform(400, 1200), rng.uniform(1500, 2800)])
    on, off = rng.uniform(0.08, 0.6), rng.uniform(0.05, 0.5)
    gate = ((t + rng.uniform(0, 1)) % (on + off)) < on
    if rng.random() < 0.4:  # temporal-3 pattern: three beeps then a pause
        cycle = 3 * (on + off) + rng.uniform(0.6, 1.5)
        local = t % cycle
        gate = (local < 3 * (on + off)) & ((local % (on + off)) < on)
    wave = np.sin(2 * np.pi * f0 * t)
    if rng.random() < 0.5:
        wave = np.sign(wave) * np.abs(wave) ** 0.3  # square-ish buzzer
    if rng.random() < 0.3:  # two-tone warble
        wave = wave * 0.5 + 0.5 * np.sin(2 * np.pi * f0 * rng.uniform(1.1, 1.5) * t)
    edge = np.convolve(gate.astype(float), np.ones(40) / 40, mode="same")
    return peak_normalise(wave * edge)


def synth_bell(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A ringing fire bell: rapid strikes of an inharmonic decaying partial set."""
    n = int(seconds * SR)
    rate = rng.uniform(8, 22)
    f0 = rng.uniform(600, 1800)
    strike_t = time_axis(0.25)
    partials = [(1.0, 1.0), (2.76, 0.6), (5.4, 0.35), (8.93, 0.2)]
    strike = sum(a * np.sin(2 * np.pi * f0 * r * strike_t) for r, a in partials) * np.exp(-strike_t * 18)
    out = np.zeros(n + strike.size)
    for s in np.arange(0, seconds, 1 / rate):
        i = int(s * SR)
        out[i : i + strike.size] += strike * rng.uniform(0.7, 1.0)
    return peak_normalise(out[:n])


def synth_alarm(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A siren, beeper or bell (sirens and beepers twice as likely as bells)."""
    gen = [synth_siren, synth_siren, synth_beeper, synth_beeper, synth_bell][int(rng.integers(0, 5))]
    return gen(rng, seconds)


def synth_gunshot(rng: np.random.Generator) -> np.ndarray:
    """One shot: a band-limited noise burst with a short low rumble tail."""
    n = int(rng.uniform(0.3, 0.9) * SR)
    tt = np.arange(n) / SR
    burst = rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.01, 0.08))
    burst = bandpass(burst, rng.uniform(50, 300), rng.uniform(2500, 7500))
    tail = rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.08, 0.3)) * 0.15
    return peak_normalise(burst + bandpass(tail, None, 2000))


def synth_glass(rng: np.random.Generator) -> np.ndarray:
    """Breaking glass: a bright noise burst and a shower of short high-pitched shards."""
    n = int(rng.uniform(0.5, 1.4) * SR)
    out = np.zeros(n)
    tt = np.arange(n) / SR
    out += bandpass(rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.01, 0.05)), 1500, 7800)
    for _ in range(int(rng.integers(15, 80))):
        start = int(rng.exponential(0.15) * SR)
        if start >= n:
            continue
        d = int(rng.uniform(0.01, 0.12) * SR)
        seg = np.arange(min(d, n - start)) / SR
        f = rng.uniform(2000, 7800)
        out[start : start + seg.size] += (
            rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * f * seg) * np.exp(-seg / rng.uniform(0.005, 0.04))
        )
    return peak_normalise(out)


def synth_crash(rng: np.random.Generator) -> np.ndarray:
    """A crash or slam: decaying low-passed noise, a low thud and a few metallic partials."""
    n = int(rng.uniform(0.6, 1.8) * SR)
    tt = np.arange(n) / SR
    noise = bandpass(rng.standard_normal(n), None, rng.uniform(1500, 6000)) * np.exp(
        -tt / rng.uniform(0.1, 0.5)
    )
    thud = np.sin(2 * np.pi * rng.uniform(40, 120) * tt) * np.exp(-tt / rng.uniform(0.05, 0.2))
    metal = sum(
        np.sin(2 * np.pi * rng.uniform(300, 3000) * tt)
        * np.exp(-tt / rng.uniform(0.05, 0.4))
        * rng.uniform(0, 0.3)
        for _ in range(int(rng.integers(0, 6)))
    )
    return peak_normalise(noise + thud * rng.uniform(0.3, 1.0) + metal)


def synth_impact(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """One to four impacts (gunshots, glass breaking, crashes, slams) in ``seconds``."""
    n = int(seconds * SR)
    out = np.zeros(n, dtype=np.float32)
    kind = int(rng.integers(0, 3))
    count = int(rng.integers(1, 5)) if kind == 0 else int(rng.integers(1, 3))
    for _ in range(count):
        ev = [synth_gunshot, synth_glass, synth_crash][kind](rng)
        start = int(rng.integers(0, max(1, n - ev.size // 3)))
        seg = ev[: n - start]
        out[start : start + seg.size] += seg * rng.uniform(0.5, 1.0)
    return peak_normalise(out)


def synth_scream(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Screams and wails: high, rough, harmonic voice with vibrato and formant-like shaping."""
    n = int(seconds * SR)
    out = np.zeros(n)
    pos = int(rng.integers(0, max(1, n // 3)))
    while pos < n:
        d = int(rng.uniform(0.4, 1.8) * SR)
        tt = np.arange(min(d, n - pos)) / SR
        f0 = rng.uniform(350, 1300) * (1 + rng.uniform(-0.3, 0.3) * tt / max(tt[-1], 1e-3))
        f0 = f0 * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(4, 9) * tt)) + rng.normal(0, 15, tt.size)
        phase = 2 * np.pi * np.cumsum(f0) / SR
        v = sum(np.sin(k * phase) / k for k in range(1, 8))
        v = v + rng.uniform(0.05, 0.4) * rng.standard_normal(tt.size)  # breath/roughness
        env = np.minimum(1, tt / 0.05) * np.minimum(1, (tt[-1] - tt) / 0.1 + 1e-3)
        v = bandpass(v * env, 300, rng.uniform(3000, 7000))
        out[pos : pos + tt.size] += v
        pos += tt.size + int(rng.uniform(0.1, 0.8) * SR)
    return peak_normalise(out)


def synth_sobbing(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Crying: short, falling, breathy voiced sobs in bursts."""
    n = int(seconds * SR)
    out = np.zeros(n)
    pos = int(rng.integers(0, SR // 2))
    while pos < n:
        d = int(rng.uniform(0.15, 0.7) * SR)
        tt = np.arange(min(d, n - pos)) / SR
        f0 = rng.uniform(300, 650) * (1 - rng.uniform(0.1, 0.4) * tt / max(tt[-1], 1e-3))
        f0 = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(5, 12) * tt))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        v = sum(np.sin(k * phase) / k**1.3 for k in range(1, 6)) + 0.3 * rng.standard_normal(tt.size)
        v = v * np.clip(np.sin(np.pi * tt / max(tt[-1], 1e-3)), 0, None) ** 0.5
        out[pos : pos + tt.size] += bandpass(v, 200, 4000)
        pos += tt.size + int(rng.uniform(0.05, 0.5) * SR)
    return peak_normalise(out)


def synth_ambient(rng: np.random.Generator, seconds: float, ambient_clips: list[np.ndarray]) -> np.ndarray:
    """Ordinary background: colored noise, mains hum, distant traffic rumble or a real ambient clip."""
    n = int(seconds * SR)
    choice = rng.random()
    if ambient_clips and choice < 0.4:
        clip = ambient_clips[int(rng.integers(0, len(ambient_clips)))]
        x = fit_length(rng, clip, n) if clip.size >= n else np.resize(clip, n)  # loop short clips
        return peak_normalise(x)
    x = coloured_noise(rng, n, rng.uniform(0, 2.2))
    if rng.random() < 0.3:
        t = time_axis(seconds)
        hum_f = rng.choice([50.0, 60.0])
        x = x + rng.uniform(0.2, 1) * sum(np.sin(2 * np.pi * hum_f * k * t) / k for k in range(1, 5))
    if rng.random() < 0.3:
        x = bandpass(x, None, rng.uniform(200, 1500))
    return peak_normalise(x)
