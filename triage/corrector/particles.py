"""Korean particles whose spelling depends on the word before them (을/를, 이/가, 은/는, ...).

When the corrector swaps a word for one that ends differently (훼의을 -> 회의 + 을), the
particle the recogniser attached no longer fits; re-agreeing it (회의를) is part of the same
fix, not a separate guess. The training corpus expands its templates with the same rule.
"""

from __future__ import annotations

from triage.jamo import as_final, is_hangul_syllable, split_syllable

_RIEUL = as_final("ㄹ")
PAIRS: dict[str, tuple[str, str]] = {}
"""Any spelling of a particle -> (after a consonant, after a vowel)."""
for _pair in (("을", "를"), ("은", "는"), ("이", "가"), ("과", "와"), ("으로", "로"), ("이랑", "랑")):
    for _form in _pair:
        PAIRS[_form] = _pair


def final_of(word: str) -> str:
    """The final jamo of the word's last syllable; '' after a vowel or a non-Hangul ending."""
    last = word.rstrip()[-1:]
    return split_syllable(last)[2] if last and is_hangul_syllable(last) else ""


def allomorph(word: str, after_consonant: str, after_vowel: str) -> str:
    """The spelling of a particle that fits after ``word`` (로, not 으로, after a final ㄹ: 지하철로)."""
    final = final_of(word)
    if after_consonant == "으로" and final == _RIEUL:
        return after_vowel
    return after_consonant if final else after_vowel


def agree(word: str, rest: str) -> str:
    """``rest`` (what follows ``word`` in its eojeol) with its particle re-agreed to ``word``.

    Only a rest that is exactly one particle is touched, and only after a Hangul syllable:
    anything longer (이다, 으로는, 이에요) may be a different construction.
    """
    pair = PAIRS.get(rest)
    if pair is None or not word or not is_hangul_syllable(word[-1]):
        return rest
    return allomorph(word, *pair)
