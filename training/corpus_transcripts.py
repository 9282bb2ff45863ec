"""Whisper's cached transcripts of the real corpus (``training/data/corpus/whisper.jsonl``).

Written once by ``python -m training.whisper.transcribe_corpus``; read by every trainer that
learns from real Whisper output (text classifier, corrector, fusion) and by the evaluation.
Each record carries its speaker's split (``harness.corpus``): trainers take ``train`` or
``dev`` records only, and only those whose sentence no later split reads
(``harness.corpus.text_disjoint_clips``), so no test sentence is learnt from another voice.
The file holds only what Whisper wrote; references come from the shared corpus manifest,
read in place, so none of the shared data is copied into the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.corpus import Split, corpus_clips, text_disjoint_clips
from training import DATA_DIR
from triage.whisper.schemas import Transcript

TRANSCRIPTS = DATA_DIR / "corpus" / "whisper.jsonl"
"""Made with the served decoding settings (each record names them)."""
GREEDY_TRANSCRIPTS = DATA_DIR / "corpus" / "whisper-greedy.jsonl"
"""The same clips decoded greedily over Whisper's full 30-s context, the decoding served until
2026-11-30. The text classifier learns everyday speech from these
(``training.text_classifier.train.corpus_normal_examples`` says why)."""


@dataclass(frozen=True)
class CorpusTranscript:
    """One corpus clip's reference and Whisper's transcript of it."""

    file: str
    speaker: str
    split: Split
    reference: str
    transcript: Transcript


def load_transcripts(split: Split | None = None, path: Path = TRANSCRIPTS) -> list[CorpusTranscript]:
    """Records of one split (or all), in file order; an error naming the command if missing.

    ``train`` and ``dev`` keep only their text-disjoint clips; ``test`` and ``None`` keep all.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m training.whisper.transcribe_corpus`.")
    allowed = {c.file for c in text_disjoint_clips(split)} if split in ("train", "dev") else None
    references = {c.file: c.transcript for c in corpus_clips()}
    records = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if (split is None or r["split"] == split) and (allowed is None or r["file"] in allowed):
                records.append(
                    CorpusTranscript(
                        r["file"],
                        r["speaker"],
                        r["split"],
                        references[r["file"]],
                        Transcript.model_validate(r["transcript"]),
                    )
                )
    return records
