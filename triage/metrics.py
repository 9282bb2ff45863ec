"""Character error rate, the one implementation tests, benchmarks, training and the guard use.

By default it counts characters only, not spacing or punctuation: Korean spacing and
punctuation are style choices Whisper makes freely, and counting them would measure
style, not recognition. The corrector's guard measures how much a rewrite changed the
text itself, so it passes ``characters_only=False``.
"""

from __future__ import annotations

import re

import jiwer

_IGNORED = re.compile(r"[\s.,?!~'\"“”‘’…·:;\-]")


def normalise_for_cer(text: str) -> str:
    """``text`` without whitespace and punctuation."""
    return _IGNORED.sub("", text)


def cer(reference: str, hypothesis: str, *, characters_only: bool = True) -> float:
    """CER of ``hypothesis`` against ``reference``; 0.0 when both are empty, 1.0 when one is."""
    if characters_only:
        reference, hypothesis = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not reference or not hypothesis:
        return 0.0 if reference == hypothesis else 1.0
    return float(jiwer.cer(reference, hypothesis))
