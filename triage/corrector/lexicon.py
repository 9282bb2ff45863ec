"""The word list phonetic candidates come from: our corpus, hunspell-ko, and per-request words.

Words are indexed by syllable count and spelled as jamo; a lookup pre-filters with
RapidFuzz's C Levenshtein over jamo (fast over ~100k words) and re-scores the survivors
with the Korean-weighted :func:`~triage.jamo.phonetic_distance`. Each word
keeps its source, because a hotword the caller sent is worth more than a word that
merely exists in a dictionary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from triage.jamo import decompose, phonetic_distance

SOURCES = ("corpus", "hunspell", "hotword", "domain")
TRUSTED = frozenset({"hotword", "domain"})


@dataclass(frozen=True)
class Neighbour:
    """A lexicon word near a span, with its distance and where the word came from."""

    word: str
    distance: float
    source: str


class Lexicon:
    """Words by source, searchable by phonetic distance."""

    def __init__(self, entries: dict[str, str]) -> None:
        priority = {s: i for i, s in enumerate(SOURCES)}
        self.source: dict[str, str] = {}
        for word, src in entries.items():
            old = self.source.get(word)
            if old is None or priority[src] > priority[old]:
                self.source[word] = src
        self._by_len: dict[int, tuple[list[str], list[str]]] = {}
        grouped: dict[int, list[str]] = defaultdict(list)
        for w in self.source:
            grouped[len(w)].append(w)
        for n, ws in grouped.items():
            self._by_len[n] = (ws, [decompose(w) for w in ws])

    def __len__(self) -> int:
        return len(self.source)

    def __contains__(self, word: str) -> bool:
        return word in self.source

    @classmethod
    def build(cls, corpus: list[str], hunspell: list[str]) -> Lexicon:
        entries = {w: "hunspell" for w in hunspell}
        entries.update({w: "corpus" for w in corpus})
        return cls(entries)

    def save(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as f:
            for w, src in sorted(self.source.items()):
                f.write(f"{w}\t{src}\n")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        entries: dict[str, str] = {}
        with path.open(encoding="utf-8") as f:
            for line in f:
                w, _, src = line.rstrip("\n").partition("\t")
                if w:
                    entries[w] = src or "corpus"
        return cls(entries)

    def neighbours(
        self,
        span: str,
        k: int,
        max_distance: float,
        prefilter_cutoff: float,
    ) -> list[Neighbour]:
        """Up to ``k`` words within ``max_distance`` of ``span`` (the span itself excluded)."""
        n = len(span)
        query = decompose(span)
        found: dict[str, Neighbour] = {}
        for length in (n - 1, n, n + 1):
            bucket = self._by_len.get(length)
            if not bucket:
                continue
            words, jamos = bucket
            hits = process.extract(
                query,
                jamos,
                scorer=Levenshtein.normalized_distance,
                score_cutoff=prefilter_cutoff,
                limit=200,
            )
            for _, _, idx in hits:
                w = words[idx]
                if w == span:
                    continue
                d = phonetic_distance(span, w)
                if d <= max_distance:
                    found[w] = Neighbour(w, d, self.source[w])
        ranked = sorted(found.values(), key=lambda nb: (nb.source not in TRUSTED, nb.distance, nb.word))
        return ranked[:k]
