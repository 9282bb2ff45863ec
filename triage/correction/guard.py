"""The last line of defence: a correction that rewrites too much of a segment is refused.

A small corrector that changes 40% of a transcript is more likely hallucinating than
fixing, and an emergency dispatcher is better served by the recogniser's own words.
"""

from __future__ import annotations

import jiwer


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (1.0 when one side is empty)."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    if not hypothesis:
        return 1.0
    return float(jiwer.cer(reference, hypothesis))


def guard(original: str, corrected: str, max_cer: float) -> tuple[str, bool]:
    """(text to return, whether the guard fired): the original when CER(original, corrected) > max_cer."""
    if cer(original, corrected) > max_cer:
        return original, True
    return corrected, False
