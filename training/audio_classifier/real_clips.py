"""The real recordings of the shared audio the sound model may learn from, and those it may not.

- ``sounds/``: real alarms, impacts and ambient noise. A few are kept out of training
  (:data:`HELDOUT_SOUNDS`) to measure the model on recordings it never heard.
- ``corpus/``: everyday read speech, neutral, emotional and dialect. All of it is calm: an
  angry or sad voice reading a sentence is not a call for help, and the model must not
  learn that emotion alone means distress. Split by speaker (:mod:`harness.corpus`): train
  speakers train, dev speakers are held out, test speakers are never read here.
- ``speech/``: the 14 labelled development clips. Evaluation only
  (:func:`load_labelled_clips`): never in training nor in the held-out set, so the figures
  quoted on them are not inflated by the model having heard them.

Everything is read in place from the folders :mod:`harness.shared_audio` names, never copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from harness.corpus import corpus_clips
from harness.shared_audio import SOUNDS_DIR, SPEECH_DIR, read_manifest
from triage.config import SAMPLE_RATE

HELDOUT_SOUNDS = frozenset(
    {
        "arm_pico_smoke-detector-alarm_BSB0800.wav",  # alarm
        "urbansound8k_102305-6-0-0.wav",  # impact (gunshot)
        "minetest_break_glass_2.ogg",  # impact (glass)
        "ibm_max_typing.wav",  # calm ambient
        "urbansound8k_102857-5-0-0.wav",  # calm ambient (engine idling)
    }
)
"""Real sounds that only the held-out set uses (at least one of each sound class on each side)."""

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
"""Acoustic class of each UrbanSound8K class id (the second field of its file names)."""


@dataclass(frozen=True)
class RealClip:
    """A real recording from the shared audio with its acoustic class."""

    name: str
    label: str
    wave: np.ndarray


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
    if rate != SAMPLE_RATE:
        wave = soxr.resample(wave, rate, SAMPLE_RATE)
    return np.ascontiguousarray(wave, dtype=np.float32)


def load_sound_clips() -> list[RealClip]:
    """Every real sound of ``sounds/`` with its class (fails when the shared audio is missing)."""
    return [
        RealClip(r["file"], real_label(r["file"], r["kind"]), load_wave(SOUNDS_DIR / r["file"]))
        for r in read_manifest(SOUNDS_DIR)
    ]


def load_corpus_speech(split: Literal["train", "dev"]) -> list[RealClip]:
    """Every corpus clip of the train or dev speakers, as calm speech, decoded in place."""
    return [RealClip(c.file, "calm", load_wave(c.path)) for c in corpus_clips(split)]


def load_labelled_clips() -> list[RealClip]:
    """The labelled development clips (``speech/``), for evaluation only: no training reads them."""
    return [
        RealClip(r["file"], real_label(r["file"], r["label"]), load_wave(SPEECH_DIR / r["file"]))
        for r in read_manifest(SPEECH_DIR)
    ]
