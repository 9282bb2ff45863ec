"""Korean speech from espeak-ng: ordinary sentences spoken calmly, cries for help shouted.

No recorded Korean emergency speech is reachable here, so the classifier learns what calm
talk and shouting sound like from espeak-ng's Korean voice. Shouted speech is higher,
faster, louder and overdriven, which is what separates it acoustically from calm talk
when the words themselves are not understood. Without espeak-ng there is no speech
(the data falls back to the other sources).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soundfile as sf
import soxr
from scipy import signal

from training.audio_classifier.signals import peak_normalise
from triage.config import SAMPLE_RATE

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
"""Everyday talk, spoken calmly (class ``calm``)."""

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
"""Cries for help, spoken shouted (class ``distress``)."""

ESPEAK_VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4", "+f5"]
"""espeak-ng voice variants (male and female timbres), one drawn per utterance."""


def speak_korean(text: str, voice: str, speed: int, pitch: int, amplitude: int) -> np.ndarray:
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
    if data.size == 0:
        return np.zeros(0, dtype=np.float32)
    return peak_normalise(soxr.resample(data, rate, SAMPLE_RATE))


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
        waves = list(pool.map(lambda j: speak_korean(*j), jobs))
    out = []
    for w in waves:
        if w.size == 0:
            continue
        if shouted:
            w = np.tanh(w * rng.uniform(2, 8))  # strained, overdriven voice
            w = signal.lfilter([1, -0.9], [1], w)  # brighter spectrum, as in raised voices
        out.append(peak_normalise(w))
    return out
