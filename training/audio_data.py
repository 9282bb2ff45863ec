"""Build the audio classifier's training and held-out sets, in memory, from real and synthetic audio.

No public Korean emergency-sound corpus is reachable here, so the set is assembled from
what is: the real clips of ``../shared/audio/sounds`` and ``../shared/audio/speech`` (read
in place), Korean speech spoken by espeak-ng (calm, and shouted with higher pitch, rate and
amplitude plus overdrive), procedurally synthesised screams, sobbing, sirens, alarms,
bells and impacts, all mixed with ambient noise at random SNRs and degraded the way phone
audio is (random gain, time shift, clipping, telephone band, reverb).

The held-out split shares no source clip with training: real clips are assigned to one
side by name (:data:`HELDOUT_REAL`), espeak sentences are split by sentence, and every
procedural sound is generated afresh from its own random draw.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

from triage.config import SAMPLE_RATE

SR = SAMPLE_RATE
LABELS = ("calm", "distress", "alarm", "impact")
"""Acoustic classes, in the order the model's outputs use (saved with the model)."""

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"

HELDOUT_REAL = frozenset(
    {
        "arm_pico_smoke-detector-alarm_BSB0800.wav",  # alarm
        "urbansound8k_102305-6-0-0.wav",  # impact (gunshot)
        "minetest_break_glass_2.ogg",  # impact (glass)
        "ibm_max_typing.wav",  # calm ambient
        "urbansound8k_102857-5-0-0.wav",  # calm ambient (engine idling)
        "emotiontts_lmy02120.wav",  # distress speech
        "emotiontts_pmj00004.wav",  # calm speech
        "emotiontts_pma00006.wav",  # calm speech
        "emotiontts_neb00201.wav",  # calm speech
    }
)
"""Real clips that only the held-out set uses (at least one per class on each side)."""

URBANSOUND_CLASSES = {
    0: "calm",  # air_conditioner
    1: "alarm",  # car_horn
    2: "calm",  # children_playing
    3: "calm",  # dog_bark
    4: "calm",  # drilling
    5: "calm",  # engine_idling
    6: "impact",  # gun_shot
    7: "calm",  # jackhammer
    8: "alarm",  # siren
    9: "calm",  # street_music
}

CALM_SENTENCES = [
    "안녕하세요, 오늘 날씨가 참 좋네요.",
    "내일 아침에 회의가 있어서 일찍 나가야 해요.",
    "점심은 김치찌개를 먹었습니다.",
    "택배가 문 앞에 도착했다고 문자가 왔어요.",
    "주말에 가족들과 공원에 산책하러 갈 거예요.",
    "이번 달 전기 요금이 조금 많이 나왔네요.",
    "지하철 이 호선은 몇 시에 끊기나요?",
    "도서관에서 책을 두 권 빌려 왔어요.",
    "저녁에 친구랑 영화 보기로 했어요.",
    "커피 한 잔 하면서 이야기 좀 해요.",
    "아이가 학교에서 상을 받아 왔어요.",
    "은행 업무 시간이 언제까지인지 궁금합니다.",
    "오늘은 집에서 조용히 쉬고 싶어요.",
    "버스가 조금 늦게 오는 것 같아요.",
    "다음 주에 부산으로 출장을 갑니다.",
    "화분에 물 주는 것을 잊어버렸네요.",
    "요즘 운동을 시작해서 기분이 좋아요.",
    "주문하신 음식은 삼십 분 뒤에 도착합니다.",
    "회의 자료는 메일로 보내 드릴게요.",
    "감기 기운이 있어서 약을 먹었어요.",
    "우리 동네에 새로운 빵집이 생겼어요.",
    "내일은 비가 온다고 하니 우산 챙기세요.",
    "시장에서 사과랑 배를 샀어요.",
    "고객님, 잠시만 기다려 주시겠어요?",
]

DISTRESS_SENTENCES = [
    "살려주세요! 누가 좀 도와주세요!",
    "불이야! 빨리 나와요!",
    "도와주세요! 사람이 쓰러졌어요!",
    "하지 마! 저리 가!",
    "경찰 불러 주세요! 빨리요!",
    "아악! 아파! 너무 아파요!",
    "누가 문을 부수고 들어오고 있어요!",
    "제발 살려 주세요! 제발!",
    "여기 사람이 다쳤어요! 구급차 불러요!",
    "도둑이야! 저 사람 잡아요!",
    "놔! 이거 놔! 소리 지를 거야!",
    "아이가 숨을 안 쉬어요! 어떡해요!",
    "연기가 너무 많아요! 숨을 못 쉬겠어요!",
    "차에 갇혔어요! 꺼내 주세요!",
    "칼을 들고 있어요! 도망가!",
    "엄마! 엄마! 무서워!",
    "빨리 와 주세요! 지금 당장요!",
    "그만해! 때리지 마!",
    "물에 빠졌어요! 사람 살려!",
    "가스 냄새가 나요! 다들 나가요!",
    "누가 나를 따라오고 있어요!",
    "안 돼! 제발 그만!",
    "여기요! 여기 사람 있어요!",
    "피가 너무 많이 나요! 도와줘요!",
]

ESPEAK_VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4", "+f5"]


@dataclass
class Split:
    """Examples of one side of the split: waveforms, integer labels and where each came from."""

    waves: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, wave: np.ndarray, label: str, source: str) -> None:
        self.waves.append(wave.astype(np.float32))
        self.labels.append(LABELS.index(label))
        self.sources.append(source)


@dataclass(frozen=True)
class RealClip:
    """A real recording from ../shared/audio with its acoustic class."""

    name: str
    label: str
    wave: np.ndarray


# ---------------------------------------------------------------------------------------------
# Real clips
# ---------------------------------------------------------------------------------------------


def real_label(name: str, kind: str) -> str:
    """Acoustic class of a real clip from its manifest kind and, for sounds, its name."""
    if kind == "normal":
        return "calm"
    if kind == "emergency":
        return "distress"
    if kind == "ambient":
        return "calm"
    if name.startswith("urbansound8k_"):
        return URBANSOUND_CLASSES[int(name.split("-")[1])]
    low = name.lower()
    if any(k in low for k in ("siren", "alarm", "horn", "bell")):
        return "alarm"
    if any(k in low for k in ("gun", "glass", "crash", "shot", "break")):
        return "impact"
    if any(k in low for k in ("scream", "cry", "shout")):
        return "distress"
    return "calm"


def load_wave(path: Path) -> np.ndarray:
    """A file as 16 kHz mono float32 (the same conversion the server's decoder applies)."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    wave = data.mean(axis=1)
    if rate != SR:
        wave = soxr.resample(wave, rate, SR)
    return np.ascontiguousarray(wave, dtype=np.float32)


def load_real_clips(root: Path = SHARED_AUDIO) -> list[RealClip]:
    """Every real clip listed in the two manifests, with its class."""
    clips: list[RealClip] = []
    for sub, kind_col in (("sounds", "kind"), ("speech", "label")):
        manifest = root / sub / "manifest.tsv"
        if not manifest.exists():
            continue
        with manifest.open(encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                path = root / sub / row["file"]
                if path.exists():
                    label = real_label(row["file"], row[kind_col])
                    clips.append(RealClip(row["file"], label, load_wave(path)))
    return clips


# ---------------------------------------------------------------------------------------------
# Signal helpers
# ---------------------------------------------------------------------------------------------


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _norm(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x / peak).astype(np.float32) if peak > 0 else x.astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12


def _bandpass(x: np.ndarray, lo: float | None, hi: float | None, order: int = 4) -> np.ndarray:
    if lo and hi:
        sos = signal.butter(order, [lo, hi], btype="bandpass", fs=SR, output="sos")
    elif lo:
        sos = signal.butter(order, lo, btype="highpass", fs=SR, output="sos")
    elif hi:
        sos = signal.butter(order, hi, btype="lowpass", fs=SR, output="sos")
    else:
        return x
    return signal.sosfilt(sos, x).astype(np.float32)


def _colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    freqs[0] = freqs[1]
    spec = spec / freqs ** (exponent / 2)
    return _norm(np.fft.irfft(spec, n))


def _reverb(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    rt = rng.uniform(0.15, 0.8)
    n = int(rt * SR)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir[0] = 1.0 / rng.uniform(0.05, 0.3)
    wet = signal.fftconvolve(x, ir)[: x.size]
    return _norm(wet) * float(np.max(np.abs(x)))


def _fit(rng: np.random.Generator, x: np.ndarray, n: int) -> np.ndarray:
    """Random crop to ``n`` samples, or place at a random offset in ``n`` samples of silence."""
    if x.size >= n:
        start = int(rng.integers(0, x.size - n + 1))
        return x[start : start + n].copy()
    out = np.zeros(n, dtype=np.float32)
    start = int(rng.integers(0, n - x.size + 1))
    out[start : start + x.size] = x
    return out


# ---------------------------------------------------------------------------------------------
# Procedural sounds
# ---------------------------------------------------------------------------------------------


def synth_siren(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Wail, yelp or hi-lo siren: a swept or alternating tone with harmonics."""
    t = _t(seconds)
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
    return _norm(np.asarray(x))


def synth_beeper(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Smoke/fire alarm beeps (T3 or continuous pulses), buzzers and electronic alarms."""
    t = _t(seconds)
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
    return _norm(wave * edge)


def synth_bell(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A ringing fire bell: rapid strikes of an inharmonic decaying partial set."""
    n = int(seconds * SR)
    rate = rng.uniform(8, 22)
    f0 = rng.uniform(600, 1800)
    strike_t = _t(0.25)
    partials = [(1.0, 1.0), (2.76, 0.6), (5.4, 0.35), (8.93, 0.2)]
    strike = sum(a * np.sin(2 * np.pi * f0 * r * strike_t) for r, a in partials) * np.exp(-strike_t * 18)
    out = np.zeros(n + strike.size)
    for s in np.arange(0, seconds, 1 / rate):
        i = int(s * SR)
        out[i : i + strike.size] += strike * rng.uniform(0.7, 1.0)
    return _norm(out[:n])


def synth_alarm(rng: np.random.Generator, seconds: float) -> np.ndarray:
    gen = [synth_siren, synth_siren, synth_beeper, synth_beeper, synth_bell][int(rng.integers(0, 5))]
    return gen(rng, seconds)


def synth_gunshot(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.uniform(0.3, 0.9) * SR)
    tt = np.arange(n) / SR
    burst = rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.01, 0.08))
    burst = _bandpass(burst, rng.uniform(50, 300), rng.uniform(2500, 7500))
    tail = rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.08, 0.3)) * 0.15
    return _norm(burst + _bandpass(tail, None, 2000))


def synth_glass(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.uniform(0.5, 1.4) * SR)
    out = np.zeros(n)
    tt = np.arange(n) / SR
    out += _bandpass(rng.standard_normal(n) * np.exp(-tt / rng.uniform(0.01, 0.05)), 1500, 7800)
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
    return _norm(out)


def synth_crash(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.uniform(0.6, 1.8) * SR)
    tt = np.arange(n) / SR
    noise = _bandpass(rng.standard_normal(n), None, rng.uniform(1500, 6000)) * np.exp(
        -tt / rng.uniform(0.1, 0.5)
    )
    thud = np.sin(2 * np.pi * rng.uniform(40, 120) * tt) * np.exp(-tt / rng.uniform(0.05, 0.2))
    metal = sum(
        np.sin(2 * np.pi * rng.uniform(300, 3000) * tt)
        * np.exp(-tt / rng.uniform(0.05, 0.4))
        * rng.uniform(0, 0.3)
        for _ in range(int(rng.integers(0, 6)))
    )
    return _norm(noise + thud * rng.uniform(0.3, 1.0) + metal)


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
    return _norm(out)


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
        v = _bandpass(v * env, 300, rng.uniform(3000, 7000))
        out[pos : pos + tt.size] += v
        pos += tt.size + int(rng.uniform(0.1, 0.8) * SR)
    return _norm(out)


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
        out[pos : pos + tt.size] += _bandpass(v, 200, 4000)
        pos += tt.size + int(rng.uniform(0.05, 0.5) * SR)
    return _norm(out)


def synth_ambient(rng: np.random.Generator, seconds: float, ambient_clips: list[np.ndarray]) -> np.ndarray:
    """Ordinary background: colored noise, mains hum, distant traffic rumble or a real ambient clip."""
    n = int(seconds * SR)
    choice = rng.random()
    if ambient_clips and choice < 0.4:
        clip = ambient_clips[int(rng.integers(0, len(ambient_clips)))]
        x = _fit(rng, clip, n) if clip.size >= n else np.resize(clip, n)  # loop short clips
        return _norm(x)
    x = _colored_noise(rng, n, rng.uniform(0, 2.2))
    if rng.random() < 0.3:
        t = _t(seconds)
        hum_f = rng.choice([50.0, 60.0])
        x = x + rng.uniform(0.2, 1) * sum(np.sin(2 * np.pi * hum_f * k * t) / k for k in range(1, 5))
    if rng.random() < 0.3:
        x = _bandpass(x, None, rng.uniform(200, 1500))
    return _norm(x)


# ---------------------------------------------------------------------------------------------
# Speech
# ---------------------------------------------------------------------------------------------


def espeak(text: str, voice: str, speed: int, pitch: int, amplitude: int) -> np.ndarray:
    """Korean speech from espeak-ng, resampled to 16 kHz (empty if espeak-ng is missing)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return np.zeros(0, dtype=np.float32)
    cmd = [
        exe,
        "-v",
        f"ko{voice}",
        "-s",
        str(speed),
        "-p",
        str(pitch),
        "-a",
        str(amplitude),
        "--stdout",
        text,
    ]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    data, rate = sf.read(io.BytesIO(out), dtype="float32")
    return _norm(soxr.resample(data, rate, SR)) if data.size else np.zeros(0, dtype=np.float32)


def synth_speech(
    rng: np.random.Generator, sentences: list[str], count: int, shouted: bool
) -> list[np.ndarray]:
    """``count`` espeak utterances of ``sentences``; shouted ones are higher, faster, louder, overdriven."""
    jobs = []
    for i in range(count):
        text = sentences[i % len(sentences)]
        voice = ESPEAK_VARIANTS[int(rng.integers(0, len(ESPEAK_VARIANTS)))]
        if shouted:
            jobs.append((text, voice, int(rng.integers(185, 280)), int(rng.integers(70, 100)), 200))
        else:
            jobs.append((text, voice, int(rng.integers(120, 175)), int(rng.integers(25, 60)), 100))
    with ThreadPoolExecutor(max_workers=2) as pool:
        waves = list(pool.map(lambda j: espeak(*j), jobs))
    out = []
    for w in waves:
        if w.size == 0:
            continue
        if shouted:
            w = np.tanh(w * rng.uniform(2, 8))  # strained, overdriven voice
            w = signal.lfilter([1, -0.9], [1], w)  # brighter spectrum, as in raised voices
        out.append(_norm(w))
    return out


# ---------------------------------------------------------------------------------------------
# Mixing
# ---------------------------------------------------------------------------------------------


def degrade(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Channel effects of a phone call: reverb, telephone band, gain, clipping."""
    if rng.random() < 0.25:
        x = _reverb(rng, x)
    if rng.random() < 0.3:
        x = _bandpass(x, 300, 3400)
    x = _norm(x) * 10 ** (rng.uniform(-30, -1) / 20)
    if rng.random() < 0.15:
        x = np.clip(x * rng.uniform(2, 8), -1, 1)
    return x.astype(np.float32)


def mix(
    rng: np.random.Generator, fg: np.ndarray | None, ambient: np.ndarray, snr_db: tuple[float, float]
) -> np.ndarray:
    """Foreground over ambient at a random SNR (ambient alone when ``fg`` is None)."""
    if fg is None:
        return ambient
    noise = ambient * (_rms(fg) / _rms(ambient)) * 10 ** (-rng.uniform(*snr_db) / 20)
    return fg + noise


@dataclass(frozen=True)
class DataConfig:
    """Sizes of the generated set; the profiles of the training script pick one."""

    per_class_train: int
    per_class_heldout: int
    utterances: int
    """espeak utterances synthesised per (split, calm/shouted)."""
    snr_db: tuple[float, float] = (0.0, 25.0)
    max_seconds: float = 4.0


def _split_sentences(sentences: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    order = rng.permutation(len(sentences))
    cut = max(1, len(sentences) // 4)
    return [sentences[i] for i in order[cut:]], [sentences[i] for i in order[:cut]]


def build_split(
    rng: np.random.Generator,
    per_class: int,
    real: list[RealClip],
    calm_speech: list[np.ndarray],
    shouted_speech: list[np.ndarray],
    cfg: DataConfig,
    tag: str,
    progress: Callable[[int], None] | None = None,
) -> Split:
    """``per_class`` mixed examples per class from the given sources (one side of the split)."""
    ambient_real = [c.wave for c in real if c.label == "calm" and not c.name.startswith("emotiontts")]
    real_by = {lab: [c for c in real if c.label == lab] for lab in LABELS}
    split = Split()
    for label in LABELS:
        for i in range(per_class):
            seconds = cfg.max_seconds if rng.random() < 0.8 else rng.uniform(1.0, cfg.max_seconds)
            n = int(seconds * SR)
            ambient = synth_ambient(rng, seconds, ambient_real)
            use_real = real_by[label] and rng.random() < 0.3
            source = f"{tag}:{label}:synth:{i}"
            fg: np.ndarray | None
            if use_real:
                clip = real_by[label][int(rng.integers(0, len(real_by[label])))]
                fg = _fit(rng, clip.wave, n)
                source = f"real:{clip.name}"
            elif label == "calm":
                r = rng.random()
                fg = (
                    None
                    if r < 0.35 or not calm_speech
                    else _fit(rng, calm_speech[int(rng.integers(0, len(calm_speech)))], n)
                )
                if fg is None and rng.random() < 0.5 and calm_speech:  # distant babble of ordinary talk
                    babble = sum(
                        _fit(rng, calm_speech[int(rng.integers(0, len(calm_speech)))], n) for _ in range(3)
                    )
                    ambient = ambient + 0.5 * _norm(babble) * (_rms(ambient) / (_rms(_norm(babble)) + 1e-9))
            elif label == "distress":
                r = rng.random()
                if r < 0.55 and shouted_speech:
                    fg = _fit(rng, shouted_speech[int(rng.integers(0, len(shouted_speech)))], n)
                elif r < 0.85:
                    fg = synth_scream(rng, seconds)
                else:
                    fg = synth_sobbing(rng, seconds)
            elif label == "alarm":
                fg = synth_alarm(rng, seconds)
                if rng.random() < 0.3 and calm_speech:  # someone talking over the alarm
                    fg = fg + 0.3 * _fit(rng, calm_speech[int(rng.integers(0, len(calm_speech)))], n)
            else:
                fg = synth_impact(rng, seconds)
            if fg is not None and fg.size == n and _rms(fg) < 1e-4:
                fg = None if label == "calm" else fg
            wave = degrade(rng, mix(rng, fg, ambient, cfg.snr_db))
            if not np.all(np.isfinite(wave)):
                raise RuntimeError(f"generator produced non-finite samples for {source}")
            split.add(wave, label, source)
            if progress:
                progress(1)
    return split


def build_dataset(
    cfg: DataConfig, seed: int, progress: Callable[[int], None] | None = None
) -> tuple[Split, Split, list[RealClip]]:
    """Training split, held-out split (no shared source clip) and all real clips (for evaluation)."""
    rng = np.random.default_rng(seed)
    real = load_real_clips()
    real_train = [c for c in real if c.name not in HELDOUT_REAL]
    real_held = [c for c in real if c.name in HELDOUT_REAL]
    calm_tr, calm_ho = _split_sentences(CALM_SENTENCES, rng)
    dis_tr, dis_ho = _split_sentences(DISTRESS_SENTENCES, rng)
    u = cfg.utterances
    speech_tr = (synth_speech(rng, calm_tr, u, False), synth_speech(rng, dis_tr + calm_tr[:4], u, True))
    speech_ho = (
        synth_speech(rng, calm_ho, max(4, u // 3), False),
        synth_speech(rng, dis_ho, max(4, u // 3), True),
    )
    train = build_split(rng, cfg.per_class_train, real_train, *speech_tr, cfg, "train", progress)
    held = build_split(rng, cfg.per_class_heldout, real_held, *speech_ho, cfg, "heldout", progress)
    return train, held, real
