"""Assemble the audio classifier's training and held-out sets, in memory, from real and synthetic audio.

No public Korean emergency-sound corpus is reachable here, so the set is assembled from
what is: real sounds and real everyday speech from the shared audio
(:mod:`~training.audio_classifier.real_clips`), Korean speech spoken by espeak-ng
(:mod:`~training.audio_classifier.espeak`), procedurally synthesised screams, sobbing,
sirens, alarms, bells and impacts (:mod:`~training.audio_classifier.synthesis`), all mixed
with ambient noise at random SNRs and degraded the way phone audio is
(:mod:`~training.audio_classifier.signals`).

Calm examples are mostly real voices of the corpus, emotional and dialect ones included, so
that a raised or sad voice reading an ordinary sentence is heard as calm. The two sides
share no source clip: real sounds are assigned by name
(:data:`~training.audio_classifier.real_clips.HELDOUT_SOUNDS`), corpus speech by speaker
(train speakers train, dev speakers are held out), espeak sentences by sentence, and every
procedural sound is drawn afresh. The labelled development clips are in neither side.
Each side has its own random stream, so the held-out side can be rebuilt alone
(:func:`build_side`) exactly as training built it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from training.audio_classifier.espeak import CALM_SENTENCES, DISTRESS_SENTENCES, synth_speech
from training.audio_classifier.real_clips import (
    HELDOUT_SOUNDS,
    RealClip,
    load_corpus_speech,
    load_sound_clips,
)
from training.audio_classifier.signals import degrade, fit_length, mix, peak_normalise, rms
from training.audio_classifier.synthesis import (
    synth_alarm,
    synth_ambient,
    synth_impact,
    synth_scream,
    synth_sobbing,
)
from triage.config import SAMPLE_RATE

LABELS = ("calm", "distress", "alarm", "impact")
"""Acoustic classes, in the order the model's outputs use (saved with the model)."""

Side = Literal["train", "heldout"]
CORPUS_SPLIT: dict[Side, Literal["train", "dev"]] = {"train": "train", "heldout": "dev"}
"""Which corpus speakers each side hears (test speakers: neither)."""


@dataclass
class Split:
    """Examples of one side of the split: waveforms, integer labels and the clips each was mixed from."""

    waves: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """``+``-joined source names: ``real:<sound>``, ``corpus:<file>``, ``tts:...``, ``synth:...``."""

    def add(self, wave: np.ndarray, label: str, source: str) -> None:
        self.waves.append(wave.astype(np.float32))
        self.labels.append(LABELS.index(label))
        self.sources.append(source)


@dataclass(frozen=True)
class DataConfig:
    """Sizes of the generated set; the profiles of the training script pick one."""

    per_class_train: int
    per_class_heldout: int
    utterances: int
    """espeak utterances synthesised per (training side, calm/shouted); a third for held-out."""
    snr_db: tuple[float, float] = (0.0, 25.0)
    max_seconds: float = 4.0


@dataclass(frozen=True)
class Sources:
    """The recordings one side is mixed from."""

    sounds: list[RealClip]
    speech: list[RealClip]
    """Real everyday speech (corpus), all calm."""
    calm_tts: list[np.ndarray]
    shouted_tts: list[np.ndarray]


def _split_sentences(sentences: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Training and held-out sentences: a random quarter (at least one) is held out."""
    order = rng.permutation(len(sentences))
    cut = max(1, len(sentences) // 4)
    return [sentences[i] for i in order[cut:]], [sentences[i] for i in order[:cut]]


def _pick(rng: np.random.Generator, clips: list, n: int) -> tuple[np.ndarray, int]:
    """One of ``clips`` (waves or :class:`RealClip`) at random, cropped or padded to ``n`` samples."""
    i = int(rng.integers(0, len(clips)))
    clip = clips[i]
    return fit_length(rng, clip.wave if isinstance(clip, RealClip) else clip, n), i


def _talk(rng: np.random.Generator, src: Sources, n: int, tag: str) -> tuple[np.ndarray, str]:
    """Ordinary talk: a real corpus voice most of the time, espeak's calm voice otherwise."""
    if src.speech and (not src.calm_tts or rng.random() < 0.75):
        wave, i = _pick(rng, src.speech, n)
        return wave, f"corpus:{src.speech[i].name}"
    wave, i = _pick(rng, src.calm_tts, n)
    return wave, f"tts:{tag}:calm:{i}"


def build_split(
    rng: np.random.Generator,
    per_class: int,
    src: Sources,
    cfg: DataConfig,
    tag: str,
    progress: Callable[[int], None] | None = None,
) -> Split:
    """``per_class`` mixed examples per class from the given sources (one side of the split)."""
    ambient_real = [c.wave for c in src.sounds if c.label == "calm"]
    real_by = {lab: [c for c in src.sounds if c.label == lab] for lab in LABELS}
    split = Split()
    for label in LABELS:
        for i in range(per_class):
            seconds = cfg.max_seconds if rng.random() < 0.8 else rng.uniform(1.0, cfg.max_seconds)
            n = int(seconds * SAMPLE_RATE)
            ambient = synth_ambient(rng, seconds, ambient_real)
            parts = [f"synth:{tag}:{label}:{i}"]
            fg: np.ndarray | None
            if real_by[label] and rng.random() < 0.25:
                clip = real_by[label][int(rng.integers(0, len(real_by[label])))]
                fg = fit_length(rng, clip.wave, n)
                parts = [f"real:{clip.name}"]
            elif label == "calm":
                r = rng.random()
                if r < 0.25:  # nobody talking; half the time a distant babble of ordinary talk
                    fg = None
                    if rng.random() < 0.5:
                        voices = [_talk(rng, src, n, tag) for _ in range(3)]
                        babble = peak_normalise(sum(w for w, _ in voices))
                        ambient = ambient + 0.5 * babble * (rms(ambient) / (rms(babble) + 1e-9))
                        parts += [s for _, s in voices]
                else:
                    fg, name = _talk(rng, src, n, tag)
                    parts = [name]
            elif label == "distress":
                r = rng.random()
                if r < 0.45 and src.shouted_tts:
                    fg, j = _pick(rng, src.shouted_tts, n)
                    parts = [f"tts:{tag}:shouted:{j}"]
                else:
                    fg = synth_scream(rng, seconds) if rng.random() < 0.7 else synth_sobbing(rng, seconds)
                    if r > 0.8:  # a scream or sobbing over people talking
                        talk, name = _talk(rng, src, n, tag)
                        fg = fg + rng.uniform(0.2, 0.6) * talk * (rms(fg) / (rms(talk) + 1e-9))
                        parts.append(name)
            else:
                fg = synth_alarm(rng, seconds) if label == "alarm" else synth_impact(rng, seconds)
                if rng.random() < 0.3:  # someone talking over the alarm or the crash
                    talk, name = _talk(rng, src, n, tag)
                    fg = fg + 0.3 * talk * (rms(fg) / (rms(talk) + 1e-9))
                    parts.append(name)
            if fg is not None and label == "calm" and rms(fg) < 1e-4:
                fg = None
            wave = degrade(rng, mix(rng, fg, ambient, cfg.snr_db))
            if not np.all(np.isfinite(wave)):
                raise RuntimeError(f"generator produced non-finite samples for {parts}")
            split.add(wave, label, "+".join(parts))
            if progress:
                progress(1)
    return split


def build_side(
    side: Side, cfg: DataConfig, seed: int, progress: Callable[[int], None] | None = None
) -> Split:
    """One side of the split, the same whether or not the other side is built too."""
    sentence_rng, train_rng, heldout_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    calm_tr, calm_ho = _split_sentences(CALM_SENTENCES, sentence_rng)
    dis_tr, dis_ho = _split_sentences(DISTRESS_SENTENCES, sentence_rng)
    sounds = load_sound_clips()
    speech = load_corpus_speech(CORPUS_SPLIT[side])
    if side == "train":
        rng, u, per_class = train_rng, cfg.utterances, cfg.per_class_train
        sounds = [c for c in sounds if c.name not in HELDOUT_SOUNDS]
        calm, shouted = calm_tr, dis_tr + calm_tr[:4]
    else:
        rng, u, per_class = heldout_rng, max(4, cfg.utterances // 3), cfg.per_class_heldout
        sounds = [c for c in sounds if c.name in HELDOUT_SOUNDS]
        calm, shouted = calm_ho, dis_ho
    src = Sources(sounds, speech, synth_speech(rng, calm, u, False), synth_speech(rng, shouted, u, True))
    return build_split(rng, per_class, src, cfg, side, progress)


def build_dataset(
    cfg: DataConfig, seed: int, progress: Callable[[int], None] | None = None
) -> tuple[Split, Split]:
    """Training split and held-out split (no shared source clip)."""
    return build_side("train", cfg, seed, progress), build_side("heldout", cfg, seed, progress)
