"""Clean Korean sentences for the corrector: our own corpus, split once into train and held-out.

Sources: ``training/data/corrector/sentences.txt`` (hand-written), the slot templates in
``training/data/corrector/templates.json`` (seeded expansion) and the emergency-call
utterances of ``training/data/text/*.tsv`` when present. The evaluation transcripts of
``../shared/audio/speech`` are never read here. The split is by a hash of the sentence,
so it is stable across runs, seeds and machines, and a held-out sentence can never leak
into training however the corpus grows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from pathlib import Path

from triage.corrector.particles import allomorph

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / "training" / "data" / "corrector"
TEXT_DIR = REPO_ROOT / "training" / "data" / "text"
HELD_OUT_BUCKETS = 10
"""One sentence in this many (by hash) is held out from training."""

_SLOT = re.compile(r"\{(\w+)(?:\|([^}/]*)/([^}]*))?\}")


def expand_templates(path: Path | None = None, n: int = 3000, seed: int = 0) -> list[str]:
    """``n`` seeded draws from the slot templates (duplicates removed, order kept)."""
    path = path or CORPUS_DIR / "templates.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    templates: list[str] = data["templates"]
    slots: dict[str, list[str]] = data["slots"]
    rng = random.Random(seed)
    out: dict[str, None] = {}
    for _ in range(n):
        template = rng.choice(templates)

        def fill(m: re.Match[str]) -> str:
            value = rng.choice(slots[m.group(1)])
            if m.group(2) is None:
                return value
            return value + allomorph(value, m.group(2), m.group(3))

        out[_SLOT.sub(fill, template)] = None
    return list(out)


def read_sentences(path: Path | None = None) -> list[str]:
    """The hand-written sentences (``#`` lines are comments)."""
    path = path or CORPUS_DIR / "sentences.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def read_text_tsv(folder: Path | None = None) -> list[str]:
    """The ``text`` column of the text classifier's emergency-call corpus, when it exists."""
    folder = folder or TEXT_DIR
    out: list[str] = []
    for tsv in sorted(folder.glob("*.tsv")) if folder.is_dir() else []:
        with tsv.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t")
            if not reader.fieldnames or "text" not in reader.fieldnames:
                continue
            out.extend(row["text"].strip() for row in reader if (row.get("text") or "").strip())
    return out


def is_held_out(sentence: str) -> bool:
    digest = hashlib.sha1(sentence.encode("utf-8")).digest()
    return digest[0] % HELD_OUT_BUCKETS == 0


def load_corpus(n_templates: int = 3000, seed: int = 0) -> tuple[list[str], list[str]]:
    """(train, held_out) clean sentences, deduplicated, split by :func:`is_held_out`."""
    seen: dict[str, None] = {}
    for s in read_sentences() + read_text_tsv() + expand_templates(n=n_templates, seed=seed):
        s = re.sub(r"\s+", " ", s).strip()
        if len(s) >= 2:
            seen[s] = None
    train = [s for s in seen if not is_held_out(s)]
    held = [s for s in seen if is_held_out(s)]
    return train, held
