"""Where the shared real audio lies (read in place, never copied into the repo).

``../shared/audio`` beside the checkout, or ``TRIAGE_SHARED_AUDIO`` when it lies elsewhere:
``speech/`` (14 labelled development clips), ``sounds/`` (12 real sounds) and ``corpus/``
(904 read-speech clips with reference transcripts and speakers). Each folder has a
``manifest.tsv``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = Path(os.environ.get("TRIAGE_SHARED_AUDIO") or REPO.parent / "shared" / "audio")
SPEECH_DIR = SHARED_AUDIO / "speech"
SOUNDS_DIR = SHARED_AUDIO / "sounds"
CORPUS_DIR = SHARED_AUDIO / "corpus"


def read_manifest(directory: Path) -> list[dict[str, str]]:
    """Rows of ``directory/manifest.tsv`` as dicts (fails loudly if the shared data is missing)."""
    with (directory / "manifest.tsv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))
