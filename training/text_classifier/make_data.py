"""Write ``training/data/text/train.tsv`` from hand-written templates and slot fillers.

No Korean emergency-call corpus is reachable offline, so the training set is authored:
per category, hand-written sentence cores with slots (who, where, what) are combined with
openers and closers in several registers (polite, panicked, fragments, dialect) and hard
negatives (news reports, past stories, hospital talk, fire drills, films) go to ``normal``.
The held-out ``test.tsv`` is written by hand, separately, and never generated here.

The tables are data files beside the TSVs: ``slots.json`` (slot fillers),
``emergency_templates.json`` (per label) and ``normal_templates.json``. Everything is drawn
from one seeded stream in file order, so reordering any list or key changes the whole
generated set, not only the entries moved.

Run ``python -m training.text_classifier.make_data`` (seeded, deterministic); the TSV is committed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from training.text_classifier.data import (
    DATA_DIR,
    SPEECH_MANIFEST,
    TEST_TSV,
    TRAIN_TSV,
    load_manifest_transcripts,
)
from triage.text_classifier import NORMAL_LABEL

SLOTS_JSON = DATA_DIR / "slots.json"
EMERGENCY_JSON = DATA_DIR / "emergency_templates.json"
NORMAL_JSON = DATA_DIR / "normal_templates.json"
NEWS_SHARE = 0.12
"""Share of ``normal`` draws that are news reports; ``STORY_SHARE`` more are past stories."""
STORY_SHARE = 0.10
PANIC_SHARE = 0.15
"""Share of emergency sentences whose last word is repeated, as panicked callers do."""
ADDRESS_SHARE = 0.2
NORMAL_SHARE = 2.0
"""``normal`` sentences per ``per_class``: everyday talk is far more varied than one emergency label."""
ATTEMPTS_PER_SENTENCE = 50
"""Draws allowed per wanted sentence before a label gives up (its templates ran out)."""


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _join(*parts: str) -> str:
    return re.sub(r"\s+", " ", " ".join(p for p in parts if p)).strip()


class SentenceMaker:
    """Expands the templates with one seeded random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slots: dict[str, list[str]] = _read_json(SLOTS_JSON)["slots"]
        self.emergency = _read_json(EMERGENCY_JSON)
        self.normal = _read_json(NORMAL_JSON)
        self.normal_sentences = [s for group in self.normal["sentences"].values() for s in group]

    def fill(self, template: str) -> str:
        """``template`` with its ``{slot}``s filled (one value of every slot is drawn regardless)."""
        values = {name: self.rng.choice(options) for name, options in self.slots.items()}
        return template.format(**values)

    def emergency_call(self, label: str) -> str:
        """Opener, a filled core (maybe panicked, maybe with an address), closer."""
        spec = self.emergency["labels"][label]
        text = self.fill(self.rng.choice(spec["cores"]))
        if self.rng.random() < PANIC_SHARE:
            text = f"{text} {text.split()[-1]}"
        address = self.rng.choice(self.emergency["addresses"]) if self.rng.random() < ADDRESS_SHARE else ""
        ending = self.rng.choice(self.emergency["endings"])
        opener = self.rng.choice(self.emergency["openers"][spec["openers"]])
        return _join(opener, text + ending, address, self.rng.choice(spec["closers"]))

    def normal_talk(self) -> str:
        """A news report, or a past story or everyday sentence with opener, ending and closer."""
        pick = self.rng.random()
        if pick < NEWS_SHARE:
            return self.fill(self.rng.choice(self.normal["news"])) + self.rng.choice(["", "."])
        pool = self.normal["stories"] if pick < NEWS_SHARE + STORY_SHARE else self.normal_sentences
        text = self.fill(self.rng.choice(pool))
        ending = "" if text.endswith(("?", "!", ".")) else self.rng.choice(self.normal["endings"])
        return _join(
            self.rng.choice(self.normal["openers"]), text + ending, self.rng.choice(self.normal["closers"])
        )


def _distinct(make: Callable[[], str], wanted: int, seen: set[str], forbidden: set[str]) -> list[str]:
    """Up to ``wanted`` new sentences from ``make`` (counting ``seen``), none in ``forbidden``."""
    out = []
    for _ in range(wanted * ATTEMPTS_PER_SENTENCE):
        if len(seen) >= wanted:
            break
        text = make()
        if text not in seen and text not in forbidden:
            seen.add(text)
            out.append(text)
    return out


def _forbidden() -> set[str]:
    """Evaluation sentences (speech manifest transcripts, held-out split) never generated for training."""
    forbidden = (
        {t for t, _ in load_manifest_transcripts(SPEECH_MANIFEST)} if SPEECH_MANIFEST.exists() else set()
    )
    if TEST_TSV.exists():
        forbidden |= {line.split("\t")[0] for line in TEST_TSV.read_text(encoding="utf-8").splitlines()}
    return forbidden


def generate(per_class: int, seed: int) -> list[tuple[str, str]]:
    """``per_class`` distinct sentences per label, scaled by the label's ``share`` (crime subtypes
    and ``help`` are narrower than a whole category), fewer if the templates run out."""
    rng = random.Random(seed)
    maker = SentenceMaker(rng)
    forbidden = _forbidden()
    rows: list[tuple[str, str]] = []
    for label, spec in maker.emergency["labels"].items():
        fragments = [t for t in spec["fragments"] if t not in forbidden]
        rows += [(t, label) for t in fragments]
        wanted = round(per_class * spec.get("share", 1.0))
        made = _distinct(lambda label=label: maker.emergency_call(label), wanted, set(fragments), forbidden)
        rows += [(t, label) for t in made]
    wanted = round(per_class * NORMAL_SHARE)
    rows += [(t, NORMAL_LABEL) for t in _distinct(maker.normal_talk, wanted, set(), forbidden)]
    rng.shuffle(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=TRAIN_TSV)
    args = parser.parse_args()
    rows = generate(args.per_class, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for text, label in rows:
            f.write(f"{text}\t{label}\n")
    counts: dict[str, int] = {}
    for _, label in rows:
        counts[label] = counts.get(label, 0) + 1
    print(f"wrote {len(rows)} rows to {args.out}: {counts}")


if __name__ == "__main__":
    main()
