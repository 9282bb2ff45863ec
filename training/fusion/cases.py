"""The fusion model's cases: both classifiers' outputs on material neither of them trained on.

Two sources, held out for both classifiers and never used for evaluation:

- **everyday speech**: the corpus dev speakers (``training.corpus_transcripts``, dev
  records): Whisper's cached transcript through the text model, the clip itself through
  the sound model. All normal. This is where false alarms come from in real use, so the
  decision threshold is chosen on these cases.
- **calls** built from the hand-written sentences of ``training/data/text/test.tsv`` (the
  text model never trains on them; for fusion they are dev data) paired with the sound
  model's held-out clips (rebuilt from the profile and seed stored with it): an emergency
  sentence over distress, alarm or impact sound, or over calm sound (the sound misses it);
  a normal sentence over alarming sound (the sound carries the emergency) or over calm sound.

The cases are cut into a fitting part and a report part that share no speaker, sentence or
clip, so the report measures the fusion on inputs it never saw in any form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from harness.shared_audio import CORPUS_DIR
from training.audio_classifier.dataset import LABELS as AUDIO_LABELS
from training.audio_classifier.dataset import build_side
from training.audio_classifier.train import PROFILES as AUDIO_PROFILES
from training.corpus_transcripts import load_transcripts
from training.text_classifier.data import TEST_TSV, load_examples
from triage.audio import decode_audio, validate_waveform
from triage.audio_classifier import MODEL_NAME as AUDIO_MODEL
from triage.audio_classifier.model import AudioClassifierModel
from triage.audio_classifier.schemas import AudioPrediction
from triage.config import SAMPLE_RATE
from triage.errors import TriageError
from triage.model_store import get_model
from triage.text_classifier import NORMAL_LABEL
from triage.text_classifier.model import TextClassifierModel
from triage.text_classifier.schemas import TextPrediction

CALL_CASES = {"test": 400, "default": 2000}
"""Calls drawn from (sentence, clip) pairs, over both parts."""
CALL_MIX = {"emergency+alarming": 0.35, "emergency+calm": 0.15, "normal+alarming": 0.15, "normal+calm": 0.35}
"""Share of each kind of call: (sentence side, sound side) -> is it an emergency (below)."""
EMERGENCY_KINDS = frozenset({"emergency+alarming", "emergency+calm", "normal+alarming"})
REPORT_SHARE = 1 / 3
"""Share of speakers, sentences and clips kept for the report part."""


@dataclass(frozen=True)
class Case:
    """One call as fusion sees it: both models' outputs, the truth, and where it came from."""

    text: str
    text_prediction: TextPrediction
    audio: AudioPrediction
    emergency: bool
    kind: str
    """``everyday`` or one of :data:`CALL_MIX`."""
    group: str
    """The speaker or sentence it came from (folds never split a group)."""


def _batched(fn: Callable[[list], list], items: Sequence, size: int, desc: str) -> list:
    """``fn`` over ``items`` in batches of ``size``, with a progress bar."""
    return [p for i in tqdm(range(0, len(items), size), desc=desc) for p in fn(list(items[i : i + size]))]


def _report_mask(rng: np.random.Generator, keys: Sequence[str], share: float) -> np.ndarray:
    """Which items go to the report part: about ``share`` of each key's items, at random."""
    keys = np.asarray(keys)
    mask = np.zeros(len(keys), dtype=bool)
    for key in sorted(set(keys.tolist())):
        idx = rng.permutation(np.flatnonzero(keys == key))
        mask[idx[: int(round(share * len(idx)))]] = True
    return mask


def everyday_cases(
    rng: np.random.Generator, text_model: TextClassifierModel, audio_model: AudioClassifierModel
) -> tuple[list[Case], list[Case]]:
    """Corpus dev speakers' clips, split by speaker into (fit, report)."""
    records = [r for r in load_transcripts("dev") if r.transcript.text.strip()]  # no words: audio decides
    texts = [r.transcript.text for r in records]
    text_preds = _batched(text_model.classify, texts, 32, "text (dev speakers)")
    clips = [decode_audio((CORPUS_DIR / r.file).read_bytes(), "audio/flac") for r in records]
    audio_preds = _batched(audio_model.predict, clips, 16, "sound (dev speakers)")
    speakers = sorted({r.speaker for r in records})
    report_speakers = _report_speakers(rng, [r.speaker for r in records], speakers)
    parts: tuple[list[Case], list[Case]] = ([], [])
    for r, text, t, a in zip(records, texts, text_preds, audio_preds, strict=True):
        case = Case(text, t, a, False, "everyday", f"speaker:{r.speaker}")
        parts[r.speaker in report_speakers].append(case)
    return parts


def _report_speakers(rng: np.random.Generator, clip_speakers: list[str], speakers: list[str]) -> set[str]:
    """Speakers, in random order, until they hold :data:`REPORT_SHARE` of the clips."""
    chosen: set[str] = set()
    for i in rng.permutation(len(speakers)):
        if sum(s in chosen for s in clip_speakers) >= REPORT_SHARE * len(clip_speakers):
            break
        chosen.add(speakers[i])
    return chosen


def accepted(wave: np.ndarray) -> bool:
    """Whether the server takes this clip (a near-silent one is refused and never reaches fusion)."""
    try:
        validate_waveform(wave, SAMPLE_RATE)
    except TriageError:
        return False
    return True


def heldout_sound() -> tuple[list[np.ndarray], list[str]]:
    """The sound model's held-out clips the server accepts, rebuilt as its training built them."""
    stored = get_model(AUDIO_MODEL)
    cfg = AUDIO_PROFILES[stored.info.labels.get("profile", "default")].data
    held = build_side("heldout", cfg, int(stored.info.metadata.get("seed", 0)))
    kept = [i for i, wave in enumerate(held.waves) if accepted(wave)]
    return [held.waves[i] for i in kept], [AUDIO_LABELS[held.labels[i]] for i in kept]


def call_cases(
    rng: np.random.Generator, text_model: TextClassifierModel, audio_model: AudioClassifierModel, n: int
) -> tuple[list[Case], list[Case]]:
    """``n`` calls from ``test.tsv`` sentences and held-out sound, split into (fit, report)."""
    examples = load_examples(TEST_TSV)
    texts = [e.text for e in examples]
    clips, clip_labels = heldout_sound()
    text_preds = _batched(text_model.classify, texts, 32, "text (test.tsv)")
    audio_preds = _batched(audio_model.predict, clips, 32, "sound (held-out clips)")
    text_emergency = np.array([e.label != NORMAL_LABEL for e in examples])
    alarming = np.array([label != "calm" for label in clip_labels])
    text_report = _report_mask(rng, [e.label for e in examples], REPORT_SHARE)
    clip_report = _report_mask(rng, clip_labels, REPORT_SHARE)

    def draw(pool: np.ndarray) -> int:
        return int(rng.choice(np.flatnonzero(pool)))

    parts: tuple[list[Case], list[Case]] = ([], [])
    for report in (False, True):
        count = int(round(n * (REPORT_SHARE if report else 1 - REPORT_SHARE)))
        for kind in rng.choice(list(CALL_MIX), size=count, p=list(CALL_MIX.values())):
            text_side, sound_side = kind.split("+")
            t = draw((text_emergency == (text_side == "emergency")) & (text_report == report))
            a = draw((alarming == (sound_side == "alarming")) & (clip_report == report))
            case = Case(texts[t], text_preds[t], audio_preds[a], kind in EMERGENCY_KINDS, kind, f"text:{t}")
            parts[report].append(case)
    return parts
