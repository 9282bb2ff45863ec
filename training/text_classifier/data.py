"""Read labelled Korean text: our TSV files, a user's CSV/JSONL, and the speech manifest.

Every reader returns a list of :class:`Example` with labels normalised by
:func:`triage.text_classifier.labels.normalise_label`, so AI Hub class names (``화재``, ``강도범죄``, ...)
and the original project's names merge with ours without a conversion step.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from harness.shared_audio import SPEECH_DIR
from training.text_classifier.labels import normalise_label
from triage.text_classifier import NORMAL_LABEL

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "training" / "data" / "text"
TRAIN_TSV = DATA_DIR / "train.tsv"
TEST_TSV = DATA_DIR / "test.tsv"
WRITTEN_TSV = DATA_DIR / "written.tsv"
"""Hand-written natural sentences (no templates): varied emergencies and hard negatives.

Decontaminated at authoring time: any sentence too close to one of the held-out evaluation
sentences or the dev sentences (``difflib`` ratio above 0.55 / 0.7) was left out."""
DEV_FAR_TSV = DATA_DIR / "dev_far.tsv"
"""A second dev set, written far from everything the model learns from: hand-written calls and
everyday sentences, each kept only when its ``difflib`` ratio stays at or under 0.55 to every
training sentence (``train.tsv``, ``written.tsv``, ``test.tsv``) and to every held-out
evaluation sentence; help calls and crime subtypes included, which ``test.tsv`` lacks. Reported
as dev figures (``train.evaluate``), never trained on by this model (the corrector's
clean-sentence corpus reads every TSV here, ``test.tsv`` too); ``test.tsv``'s sentences sit
closer to the training data, so its category accuracy flatters the model."""
SPEECH_MANIFEST = SPEECH_DIR / "manifest.tsv"
"""Transcripts of real recorded speech: evaluation only, never training data."""


@dataclass(frozen=True)
class Example:
    """One labelled utterance."""

    text: str
    label: str


def load_examples(path: Path | str) -> list[Example]:
    """Load ``.tsv`` (text<TAB>label, optional header), ``.csv`` or ``.jsonl`` by extension.

    CSV and JSONL need ``text`` and ``label`` fields (CSV: a header row naming them).
    Blank texts are skipped; a row without a label is an error, not a silent default.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        rows = _read_tsv(path)
    elif suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [(r.get("text", ""), r.get("label", "")) for r in csv.DictReader(f)]
    elif suffix in {".jsonl", ".ndjson"}:
        rows = []
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    rows.append((str(record.get("text", "")), str(record.get("label", ""))))
    else:
        raise ValueError(f"{path}: unsupported extension (use .tsv, .csv or .jsonl)")
    examples = []
    for number, (text, label) in enumerate(rows, start=1):
        if not text or not text.strip():
            continue
        if not label or not label.strip():
            raise ValueError(f"{path}: row {number} has no label")
        examples.append(Example(" ".join(text.split()), normalise_label(label)))
    return examples


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if number == 0 and parts[:2] == ["text", "label"]:
                continue
            if len(parts) < 2:
                raise ValueError(f"{path}: line {number + 1} is not text<TAB>label")
            rows.append((parts[0], parts[1]))
    return rows


def load_manifest_transcripts(path: Path | str = SPEECH_MANIFEST) -> list[tuple[str, bool]]:
    """(transcript, is_emergency) pairs of the shared speech manifest (``label`` emergency/normal)."""
    pairs = []
    with Path(path).open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pairs.append((row["transcript"].strip(), row["label"].strip() != NORMAL_LABEL))
    return pairs
