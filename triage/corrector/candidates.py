"""Candidate sentences: each suspect span replaced by a phonetic neighbour, plus the ASR n-best.

A candidate is always a whole sentence, so the reranker compares like with like: the
original, the original with one span swapped for a near-sounding lexicon word, or an
alternative the recogniser itself produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from triage.corrector.config import CorrectorConfig
from triage.corrector.lexicon import TRUSTED, Lexicon
from triage.corrector.particles import agree
from triage.corrector.schemas import NBest
from triage.corrector.spans import Span, keeps_known_words
from triage.jamo import jamo_distance, phonetic_distance
from triage.metrics import normalise_for_cer
from triage.spoken_forms import WRITTEN_TOKEN


@dataclass(frozen=True)
class Candidate:
    """A full candidate sentence, with the cost of the edit that made it and its origin."""

    text: str
    source: str
    """``corpus``, ``hunspell``, ``hotword``, ``domain`` (phonetic edits) or ``nbest``."""
    edit_cost: float
    """Weighted jamo distance of the edit (absolute, not normalised)."""
    span: Span | None = None
    replacement: str = ""
    asr_gain: float | None = None
    """For an alternative of Whisper's own n-best: its log-posterior under Whisper minus the
    transcribed text's (None when the n-best carries no comparable scores)."""

    @property
    def trusted(self) -> bool:
        return self.source in TRUSTED


def request_words(hotwords: list[str], domain_lexicon: list[str]) -> dict[str, str]:
    """The request's own vocabulary (word -> source); hotwords win over domain terms."""
    out = {w.strip(): "domain" for w in domain_lexicon if w and w.strip()}
    out.update({w.strip(): "hotword" for w in hotwords if w and w.strip()})
    return out


def change_distance(a: str, b: str) -> float:
    """Phonetic distance of only the syllables an edit changes, with one syllable of context each side.

    Over a whole eojeol a big change hides in a long shared ending (추관드리겠습니다 ->
    연락드리겠습니다 is "close"); over the changed syllables it is not.
    """
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    start, tail = max(0, i - 1), max(0, j - 1)
    return phonetic_distance(a[start : len(a) - tail], b[start : len(b) - tail])


def _eojeol_rest(text: str, end: int) -> str:
    """What follows position ``end`` up to the end of its eojeol (a particle, an ending, or '')."""
    m = re.match(r"\S*", text[end:])
    return m.group(0) if m else ""


def replace_word(text: str, start: int, end: int, word: str) -> str:
    """``text`` with ``text[start:end]`` replaced by ``word`` and a following lone particle re-agreed."""
    rest = _eojeol_rest(text, end)
    return text[:start] + word + agree(word, rest) + text[end + len(rest) :]


def phonetic_candidates(
    text: str,
    spans: list[Span],
    lexicon: Lexicon,
    cfg: CorrectorConfig,
) -> list[Candidate]:
    """One candidate per (span, neighbour) pair, at most ``max_candidates_per_segment``.

    A neighbour must keep the real words inside its span (``Span.keep``): the lexicon may
    respell a misheard stretch, never turn one real word into another (시작 -> 지각); and
    the syllables it changes must sound alike on their own (:func:`change_distance`).
    """
    out: dict[str, Candidate] = {}
    for span in spans:
        if text[span.start : span.end] != span.text:
            continue  # the text changed since the span was found
        if span.text in lexicon:
            continue  # a real word, merely unsure: only the caller's hotwords may replace it
        for nb in lexicon.neighbours(span.text, cfg.top_k, cfg.max_phonetic_distance, cfg.prefilter_cutoff):
            if not keeps_known_words(list(span.keep), nb.word):
                continue
            if change_distance(span.text, nb.word) > cfg.max_change_distance:
                continue
            sentence = replace_word(text, span.start, span.end, nb.word)
            if sentence != text and sentence not in out:
                out[sentence] = Candidate(
                    sentence, nb.source, jamo_distance(span.text, nb.word), span, nb.word
                )
            if len(out) >= cfg.max_candidates_per_segment:
                return list(out.values())
    return list(out.values())


def nbest_candidates(text: str, nbest: list[NBest], max_length_change: float) -> list[Candidate]:
    """The recogniser's alternatives, best rank first.

    When the n-best scores the text itself (Whisper's beam, whose best hypothesis *is* the
    text), the alternatives are weighed against it: each different wording (spacing and
    punctuation aside) carries its log-posterior gain over the text, spellings of one wording
    pooled. Left out: wordings much longer or shorter than the text (a beam that looped or
    stopped early), and wordings whose digits and Latin letters differ from the text's
    (백이지로 -> 100kg로): kiwipiepy scores such symbols as plausible whatever they stand for.
    Otherwise (a client's n-best from another recogniser, which need not contain the text)
    they are outside evidence with no score of their own.
    """
    ranked = sorted(nbest, key=lambda a: a.rank if a.rank is not None else 1 << 30)
    posterior = asr_log_posteriors(ranked)
    own, symbols = normalise_for_cer(text), WRITTEN_TOKEN.findall(text)
    if posterior is None or own not in posterior:
        out: dict[str, Candidate] = {}
        for alt in ranked:
            t = alt.text.strip()
            if t and t != text and t not in out:
                out[t] = Candidate(t, "nbest", 0.0)
        return list(out.values())
    scored: dict[str, Candidate] = {}
    for alt in ranked:
        t, words = alt.text.strip(), normalise_for_cer(alt.text)
        if words == own or words in scored or abs(len(words) - len(own)) > max_length_change * len(own):
            continue
        if WRITTEN_TOKEN.findall(t) != symbols:
            continue
        scored[words] = Candidate(t, "nbest", 0.0, asr_gain=posterior[words] - posterior[own])
    return list(scored.values())


def asr_log_posteriors(nbest: list[NBest]) -> dict[str, float] | None:
    """Each wording's log-posterior within the n-best (its spellings' probabilities summed),
    or None when some alternative has no score."""
    if not nbest or any(alt.score is None for alt in nbest):
        return None
    pooled: dict[str, list[float]] = {}
    for alt in nbest:
        pooled.setdefault(normalise_for_cer(alt.text), []).append(float(alt.score))
    total = np.logaddexp.reduce([s for scores in pooled.values() for s in scores])
    return {words: float(np.logaddexp.reduce(scores) - total) for words, scores in pooled.items()}


_REQUEST_LEXICONS: dict[tuple[tuple[str, str], ...], Lexicon] = {}


def request_lexicon(extra: dict[str, str]) -> Lexicon | None:
    """A small lexicon of the request's hotwords and domain terms (cached: clients resend the same list)."""
    if not extra:
        return None
    key = tuple(sorted(extra.items()))
    lex = _REQUEST_LEXICONS.get(key)
    if lex is None:
        if len(_REQUEST_LEXICONS) > 64:
            _REQUEST_LEXICONS.clear()
        lex = _REQUEST_LEXICONS[key] = Lexicon(dict(extra))
    return lex


def trusted_candidates(
    text: str, extra: dict[str, str], cfg: CorrectorConfig, known: Lexicon | None = None
) -> list[Candidate]:
    """Hotwords and domain terms may replace *any* near-sounding word, known or not.

    The caller vouches for these words (a patient's drug, a street name), so the span rule
    that protects known words does not apply; each eojeol's leading part of about the
    word's length is compared, so particles after the word are kept (은급으로 -> 응급의료로)
    and re-agreed when the new word ends differently (훼의을 -> 회의를).
    A known word (in ``known``) is only replaced by a much closer trusted word
    (``trusted_known_max_distance``): 저혈압 stays 저혈압 even when 저혈당 is a hotword.
    """
    lex = request_lexicon(extra)
    if lex is None:
        return []
    out: dict[str, Candidate] = {}
    for m in re.finditer(r"[가-힣]+", text):
        word = m.group(0)
        for cut in range(min(len(word), 2), len(word) + 1):
            head = word[:cut]
            limit = cfg.max_phonetic_distance
            if known is not None and head in known:
                limit = cfg.trusted_known_max_distance
            for nb in lex.neighbours(head, cfg.top_k, limit, cfg.prefilter_cutoff):
                if not cut <= len(nb.word) <= cut + 1:
                    continue  # never shrink: the rest of the eojeol is a particle to keep
                sentence = replace_word(text, m.start(), m.start() + cut, nb.word)
                if sentence != text and sentence not in out:
                    out[sentence] = Candidate(
                        sentence, nb.source, jamo_distance(head, nb.word), None, nb.word
                    )
    return list(out.values())[: cfg.max_candidates_per_segment]
