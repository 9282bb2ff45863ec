"""The last line of defence: a correction that rewrites too much of a segment is refused.

A small corrector that changes 40% of a transcript is more likely hallucinating than
fixing, and an emergency dispatcher is better served by the recogniser's own words.
"""

from __future__ import annotations

from triage.metrics import cer


def edit_rate(original: str, corrected: str) -> float:
    """How much of ``original`` a correction changed: CER counting spaces and punctuation too."""
    return cer(original, corrected, characters_only=False)


def guard(original: str, corrected: str, max_cer: float) -> tuple[str, bool]:
    """(text to return, whether the guard fired): the original when the edit rate exceeds ``max_cer``."""
    if edit_rate(original, corrected) > max_cer:
        return original, True
    return corrected, False
