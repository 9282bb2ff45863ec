"""Find the stretches of a transcript worth correcting, and leave the rest alone.

Two kinds of evidence: what the recogniser said about itself (word or token confidences
and log-probabilities, when the request carries them) and what a Korean morphological
analyser makes of the text (kiwipiepy): a noun that is not a known word, a noun that
kiwipiepy only accepts with a poor score, or a word it shatters into one-syllable nouns
(은급 -> 은/NNG 급/NNG) are typical ASR misspellings. Only these spans get candidates,
which keeps the corrector fast and, more importantly, keeps it away from correct words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from triage.corrector.config import CorrectorConfig
from triage.corrector.lexicon import Lexicon
from triage.corrector.schemas import SegmentIn
from triage.jamo import is_hangul_syllable, is_hangul_word

NOUN_TAGS = frozenset({"NNG", "NNP", "UN"})
CONTENT_TAGS = frozenset({"NNG", "NNP", "NP", "NR", "VV", "VA", "MAG", "XR"})
_EOJEOL = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    """Characters ``start:end`` of the segment text, and why they are suspect."""

    start: int
    end: int
    text: str
    reason: str
    score: float = 0.0
    """Lower = more suspect (kiwipiepy score per character, or log of a confidence)."""
    keep: tuple[str, ...] = ()
    """Real words inside the span that a lexicon neighbour must leave as they are."""


def known_word_ranges(tokens) -> list[tuple[int, int]]:
    """Character ranges of the real words of an analysis: dictionary content morphemes of 2+ syllables.

    A recogniser's misspelling is almost never a dictionary word of its own (은급, 훼의,
    타이래놀 are not); a dictionary word that is wrong (지각 for 시작) needs outside evidence
    (a hotword, the n-best) that the sentence alone cannot give, so the corrector keeps them.
    """
    return [(t.start, t.start + t.len) for t in tokens if t.tag in CONTENT_TAGS and not t.oov and t.len >= 2]


def known_words(text: str, kiwi) -> list[str]:
    """The real words of ``text`` (see :func:`known_word_ranges`), as they are spelled there."""
    return [text[s:e] for s, e in known_word_ranges(kiwi.analyze(text)[0][0])]


def keeps_known_words(words: list[str], candidate: str) -> bool:
    """Whether every one of ``words`` is still spelled out in ``candidate`` (spacing ignored)."""
    flat = candidate.replace(" ", "")
    return all(w.replace(" ", "") in flat for w in words)


def _hangul_core(text: str, start: int) -> tuple[int, int]:
    """Bounds of the Hangul part of an eojeol (punctuation and digits trimmed off the ends)."""
    s, e = 0, len(text)
    while s < e and not is_hangul_syllable(text[s]):
        s += 1
    while e > s and not is_hangul_syllable(text[e - 1]):
        e -= 1
    return start + s, start + e


def _locate(text: str, pieces: list[tuple[str, float]]) -> list[tuple[int, int, float]]:
    """Character ranges of ASR words/tokens in the text, found in order (unfound pieces skipped)."""
    out, cursor = [], 0
    for piece, score in pieces:
        piece = piece.strip()
        if not piece:
            continue
        k = text.find(piece, cursor)
        if k < 0:
            continue
        out.append((k, k + len(piece), score))
        cursor = k + len(piece)
    return out


def low_confidence_ranges(segment: SegmentIn, cfg: CorrectorConfig) -> list[tuple[int, int, float]]:
    """Ranges the recogniser itself was unsure of (words first, then tokens)."""
    import math

    text = segment.text
    pieces: list[tuple[str, float]] = []
    for w in segment.words:
        if w.probability is not None and w.probability < cfg.word_confidence_threshold:
            pieces.append((w.surface, math.log(max(w.probability, 1e-6))))
        elif w.logprob is not None and w.logprob < cfg.token_logprob_threshold:
            pieces.append((w.surface, w.logprob))
    for t in segment.tokens:
        low_conf = t.confidence is not None and t.confidence < cfg.word_confidence_threshold
        low_lp = t.logprob is not None and t.logprob < cfg.token_logprob_threshold
        if (low_conf or low_lp) and t.text:
            lp = t.logprob if t.logprob is not None else math.log(max(t.confidence or 1e-6, 1e-6))
            pieces.append((t.text, lp))
    return _locate(text, pieces)


def find_spans(segment: SegmentIn, kiwi, lexicon: Lexicon, cfg: CorrectorConfig) -> list[Span]:
    """Suspect spans of the segment, most suspect first, at most ``max_spans_per_segment``."""
    text = segment.text
    eojeols = [(m.start(), m.end()) for m in _EOJEOL.finditer(text)]
    low = low_confidence_ranges(segment, cfg)
    found: dict[tuple[int, int], Span] = {}

    def add(start: int, end: int, reason: str, score: float) -> None:
        if end - start < cfg.min_span_syllables:
            return
        key = (start, end)
        if key not in found or found[key].score > score:
            found[key] = Span(start, end, text[start:end], reason, score)

    # 1. the recogniser's own doubts: the whole eojeol around each unsure word
    for s, e, score in low:
        for es, ee in eojeols:
            if es < e and s < ee:
                cs, ce = _hangul_core(text[es:ee], es)
                add(cs, ce, "low_confidence", score)

    # 2. kiwipiepy: runs of nouns inside one eojeol that are not words (unknown, shattered into
    #    one-syllable nouns, or a rare syllable kiwipiepy barely accepts). Known words with
    #    merely low scores are left alone: rare but correct nouns (축대, 흉기) score low too.
    tokens = kiwi.analyze(text)[0][0]
    run: list = []

    def eojeol_of(pos: int) -> tuple[int, int] | None:
        for es, ee in eojeols:
            if es <= pos < ee:
                return _hangul_core(text[es:ee], es)
        return None

    def flush() -> None:
        if not run:
            return
        start, end = run[0].start, run[-1].start + run[-1].len
        form = text[start:end]
        per_char = sum(t.score for t in run) / max(1, end - start)
        shattered = len(run) >= 2 and all(t.len == 1 for t in run)
        unknown = any(t.tag == "UN" for t in run)
        hangul = is_hangul_word(form)
        oov = hangul and len(form) >= 2 and form not in lexicon
        rare_syllable = hangul and len(form) == 1 and per_char < cfg.kiwi_rare_syllable_score
        if shattered or unknown or oov or rare_syllable:
            add(start, end, "noun", per_char)
            core = eojeol_of(start)
            if core and core != (start, end) and text[core[0] : core[1]] not in lexicon:
                add(core[0], core[1], "noun_eojeol", per_char)  # particles are often part of the error
        run.clear()

    for t in tokens:
        if t.tag in NOUN_TAGS and (not run or t.start == run[-1].start + run[-1].len):
            run.append(t)
            continue
        flush()
        if t.tag in NOUN_TAGS:
            run.append(t)
        elif t.len and t.score / t.len < cfg.kiwi_rare_syllable_score:
            core = eojeol_of(t.start)  # a very unlikely ending or verb: offer the whole eojeol
            if core and text[core[0] : core[1]] not in lexicon:
                add(core[0], core[1], "low_score", t.score / t.len)
    flush()
    known = known_word_ranges(tokens)
    ranked = sorted(found.values(), key=lambda sp: (sp.score, sp.start))
    return [
        replace(sp, keep=tuple(text[s:e] for s, e in known if sp.start <= s and e <= sp.end))
        for sp in ranked[: cfg.max_spans_per_segment]
    ]
