"""Character error rate as this project reports it: characters only, not spacing or punctuation.

Korean spacing and punctuation are style choices Whisper makes freely; counting them would
measure style, not recognition. Tests, benchmarks and training all call this one function.
"""

from __future__ import annotations

import re

import jiwer

_IGNORED = re.compile(r"[\s.,?!~'\"“”‘’…·:;\-]")


def normalise_for_cer(text: str) -> str:
    """``text`` without whitespace and punctuation."""
    return _IGNORED.sub("", text)


def cer(reference: str, hypothesis: str) -> float:
    """CER of ``hypothesis`` against ``reference`` after :func:`normalise_for_cer` (1.0 if empty ref)."""
    ref, hyp = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.cer(ref, hyp))
