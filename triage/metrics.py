"""Character error rate, the one implementation tests, benchmarks, training and the guard use.

By default it counts characters only, not spacing or punctuation: Korean spacing and
punctuation are style choices Whisper makes freely, and counting them would measure
style, not recognition. The corrector's guard measures how much a rewrite changed the
text itself, so it passes ``characters_only=False``. Measured against the corpus, whose
references spell every number and Latin letter in Hangul, ``spoken=True`` also reads
digits and Latin words aloud (:mod:`triage.spoken_forms`) before counting: "300cc" and
삼백씨씨 are the same words written two ways.
"""

from __future__ import annotations

import re

import jiwer

from triage.spoken_forms import WRITTEN_TOKEN, spoken_readings

_IGNORED = re.compile(r"[\s.,?!~'\"“”‘’…·:;\-]")


def normalise_for_cer(text: str) -> str:
    """``text`` without whitespace and punctuation."""
    return _IGNORED.sub("", text)


def read_aloud_like(text: str, guide: str) -> str:
    """``text`` with each written number or Latin word replaced by its reading closest to ``guide``.

    The readings are tried one written run at a time, the others held, starting from the
    text as written (which stays a candidate): the result is never further from ``guide``.
    """
    pieces, written = WRITTEN_TOKEN.split(text), WRITTEN_TOKEN.findall(text)
    chosen = list(written)

    def joined() -> str:
        return "".join(piece + (chosen[i] if i < len(chosen) else "") for i, piece in enumerate(pieces))

    for i, token in enumerate(written):
        scores = {}
        for reading in spoken_readings(token):
            chosen[i] = reading
            scores[reading] = cer(guide, joined())
        chosen[i] = min(scores, key=scores.__getitem__)
    return joined()


def cer(reference: str, hypothesis: str, *, characters_only: bool = True, spoken: bool = False) -> float:
    """CER of ``hypothesis`` against ``reference``; 0.0 when both are empty, 1.0 when one is."""
    if spoken:
        hypothesis = read_aloud_like(hypothesis, reference)
        reference = read_aloud_like(reference, hypothesis)
    if characters_only:
        reference, hypothesis = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not reference or not hypothesis:
        return 0.0 if reference == hypothesis else 1.0
    return float(jiwer.cer(reference, hypothesis))
