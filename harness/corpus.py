"""The real read-speech corpus (``../shared/audio/corpus``), split by speaker.

Every clip of a speaker lands in the same split, so no model is ever trained, tuned or
calibrated on a voice it is then evaluated on. The split is a hash of the speaker code
(fixed salt), decided before any model was evaluated on the corpus: about 56 % of the
clips train, 20 % are dev (thresholds, calibration, early stopping) and 24 % are test
(figures only).

Speakers of this database read the same scripts, so a speaker split alone would let a text
model learn test sentences from train speakers' recordings. :func:`text_disjoint_clips`
therefore also drops every train clip whose sentence a dev or test speaker reads, and every
dev clip whose sentence a test speaker reads: what text-learning code may use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from harness.shared_audio import CORPUS_DIR, read_manifest

Split = Literal["train", "dev", "test"]
_SALT = "corpus-split-v1"


def speaker_split(speaker: str) -> Split:
    """The split every clip of ``speaker`` belongs to."""
    bucket = int(hashlib.sha256((_SALT + speaker).encode()).hexdigest(), 16) % 10
    if bucket <= 2:
        return "test"
    if bucket <= 4:
        return "dev"
    return "train"


@dataclass(frozen=True)
class CorpusClip:
    """One corpus clip: file name, reference transcript, speaker, recording subset and split."""

    file: str
    transcript: str
    speaker: str
    subset: str

    @property
    def split(self) -> Split:
        return speaker_split(self.speaker)

    @property
    def path(self):
        return CORPUS_DIR / self.file


def corpus_clips(split: Split | None = None) -> list[CorpusClip]:
    """Clips of the corpus manifest, all or those of one split, in manifest order."""
    clips = [
        CorpusClip(r["file"], r["transcript"], r["speaker"], r["subset"]) for r in read_manifest(CORPUS_DIR)
    ]
    return [c for c in clips if split is None or c.split == split]


def text_disjoint_clips(split: Split) -> list[CorpusClip]:
    """Clips of ``split`` whose sentence no later split (dev after train, test after both) reads."""
    order: list[Split] = ["train", "dev", "test"]
    later = {c.transcript for c in corpus_clips() if order.index(c.split) > order.index(split)}
    return [c for c in corpus_clips(split) if c.transcript not in later]
