"""Hangul syllables as jamo, and a phonetic distance that knows which Korean sounds ASR confuses.

Whisper writes Korean as it hears it: 저혈당 comes out as 저열떡 (silent ㅎ, tensed ㄷ, a wrong
final), 응급 as 은급 (ㅇ/ㄴ finals sound alike). Plain Levenshtein over syllables calls these
as far apart as any two words; over jamo with Korean-specific substitution costs they are
near neighbours while unrelated words stay far. Initial, medial and final jamo are kept
apart (Unicode conjoining jamo U+1100/U+1161/U+11A8 blocks), so an initial ㄱ never
"matches" a final ㄱ for free.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

SBASE, LBASE, VBASE, TBASE = 0xAC00, 0x1100, 0x1161, 0x11A7
LCOUNT, VCOUNT, TCOUNT = 19, 21, 28
NCOUNT = VCOUNT * TCOUNT
SCOUNT = LCOUNT * NCOUNT

INITIALS = [chr(LBASE + i) for i in range(LCOUNT)]
MEDIALS = [chr(VBASE + i) for i in range(VCOUNT)]
FINALS = [""] + [chr(TBASE + i) for i in range(1, TCOUNT)]

# Compatibility letters (ㄱ, ㅏ ...) in jamo order, so tables can be written readably and converted.
COMPAT_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
COMPAT_MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
COMPAT_FINALS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def as_initial(letter: str) -> str:
    """The conjoining initial for a compatibility consonant (ㄱ -> U+1100)."""
    return INITIALS[COMPAT_INITIALS.index(letter)]


def as_medial(letter: str) -> str:
    """The conjoining medial for a compatibility vowel (ㅏ -> U+1161)."""
    return MEDIALS[COMPAT_MEDIALS.index(letter)]


def as_final(letter: str) -> str:
    """The conjoining final for a compatibility consonant (ㄱ -> U+11A8)."""
    return FINALS[COMPAT_FINALS.index(letter) + 1]


def is_hangul_syllable(ch: str) -> bool:
    """Whether ``ch`` is a precomposed Hangul syllable (가-힣)."""
    return SBASE <= ord(ch) < SBASE + SCOUNT


def is_hangul_word(word: str) -> bool:
    """Whether ``word`` is non-empty and nothing but Hangul syllables."""
    return bool(word) and all(is_hangul_syllable(c) for c in word)


def split_syllable(ch: str) -> tuple[str, str, str]:
    """(initial, medial, final) conjoining jamo of one syllable; final is '' when absent."""
    idx = ord(ch) - SBASE
    return INITIALS[idx // NCOUNT], MEDIALS[(idx % NCOUNT) // TCOUNT], FINALS[idx % TCOUNT]


def join_syllable(initial: str, medial: str, final: str = "") -> str:
    """The syllable made of conjoining jamo (inverse of :func:`split_syllable`)."""
    li = INITIALS.index(initial)
    vi = MEDIALS.index(medial)
    ti = FINALS.index(final)
    return chr(SBASE + (li * VCOUNT + vi) * TCOUNT + ti)


def decompose(text: str) -> str:
    """Text with every Hangul syllable spelled as conjoining jamo (other characters kept)."""
    return "".join("".join(split_syllable(c)) if is_hangul_syllable(c) else c for c in text)


def compose(jamo: str) -> str:
    """Inverse of :func:`decompose` (NFC recomposes conjoining jamo)."""
    return unicodedata.normalize("NFC", jamo)


# Groups of jamo that ASR (and people) confuse; a substitution inside a group is cheap.
# Cost per group: how confusable its members are (lower = more confusable).
_CONFUSABLE_GROUPS: list[tuple[list[str], float]] = [
    # initials: plain / tense / aspirated series, silent ㅎ, liquids and nasals
    ([as_initial(c) for c in "ㄱㄲㅋ"], 0.3),
    ([as_initial(c) for c in "ㄷㄸㅌ"], 0.3),
    ([as_initial(c) for c in "ㅂㅃㅍ"], 0.3),
    ([as_initial(c) for c in "ㅈㅉㅊ"], 0.3),
    ([as_initial(c) for c in "ㅅㅆ"], 0.3),
    ([as_initial(c) for c in "ㅇㅎ"], 0.3),  # 혈 -> 열: ㅎ weakens between voiced sounds
    ([as_initial(c) for c in "ㄴㄹ"], 0.4),
    ([as_initial(c) for c in "ㄴㅁ"], 0.5),
    ([as_initial(c) for c in "ㅈㅅ"], 0.6),
    # medials: merged or near-merged vowels in Seoul speech
    ([as_medial(c) for c in "ㅐㅔ"], 0.2),
    ([as_medial(c) for c in "ㅒㅖ"], 0.2),
    ([as_medial(c) for c in "ㅚㅙㅞ"], 0.2),
    ([as_medial(c) for c in "ㅢㅣ"], 0.3),
    ([as_medial(c) for c in "ㅢㅡ"], 0.3),
    ([as_medial(c) for c in "ㅢㅔ"], 0.4),
    ([as_medial(c) for c in "ㅓㅗ"], 0.4),
    ([as_medial(c) for c in "ㅓㅏ"], 0.4),
    ([as_medial(c) for c in "ㅕㅛ"], 0.4),
    ([as_medial(c) for c in "ㅡㅜ"], 0.4),
    ([as_medial(c) for c in "ㅜㅗ"], 0.5),
    ([as_medial(c) for c in "ㅘㅏ"], 0.5),
    ([as_medial(c) for c in "ㅝㅓ"], 0.5),
    ([as_medial(c) for c in "ㅟㅣ"], 0.5),
    ([as_medial(c) for c in "ㅑㅏ"], 0.5),
    ([as_medial(c) for c in "ㅕㅓ"], 0.5),
    # finals: coda neutralisation (ㄷ-class, ㄱ-class, ㅂ-class) and nasals
    ([as_final(c) for c in "ㄷㅅㅆㅈㅊㅌㅎ"], 0.2),
    ([as_final(c) for c in "ㄱㄲㅋㄳㄺ"], 0.2),
    ([as_final(c) for c in "ㅂㅍㅄㄿ"], 0.2),
    ([as_final(c) for c in "ㄹㄼㄽㄾㅀ"], 0.3),
    ([as_final(c) for c in "ㄴㄵㄶ"], 0.3),
    ([as_final(c) for c in "ㅁㄻ"], 0.3),
    ([as_final(c) for c in "ㅇㄴ"], 0.3),  # 응급 -> 은급
    ([as_final(c) for c in "ㅇㅁ"], 0.4),
    ([as_final(c) for c in "ㄴㅁ"], 0.4),
    ([as_final(c) for c in "ㄱㅇ"], 0.5),  # nasalisation: 국물 -> 궁물
    ([as_final(c) for c in "ㄷㄴ"], 0.5),
    ([as_final(c) for c in "ㅂㅁ"], 0.5),
]

_SUB_COST: dict[tuple[str, str], float] = {}
for _group, _cost in _CONFUSABLE_GROUPS:
    for _a in _group:
        for _b in _group:
            if _a != _b:
                _SUB_COST[(_a, _b)] = min(_SUB_COST.get((_a, _b), 1.0), _cost)

_INITIAL_SET = frozenset(INITIALS)
_MEDIAL_SET = frozenset(MEDIALS)
_FINAL_SET = frozenset(FINALS[1:])
_SILENT_INITIALS = frozenset({as_initial("ㅇ"), as_initial("ㅎ")})

INDEL_COST = 1.0
"""Inserting or deleting a jamo that carries sound."""
FINAL_INDEL_COST = 0.6
"""Finals are short and often swallowed or resyllabified (liaison), so they come and go cheaply."""
SILENT_INDEL_COST = 0.4
"""The placeholder ㅇ and a weak ㅎ carry (almost) no sound."""


def _position(j: str) -> int:
    if j in _INITIAL_SET:
        return 0
    if j in _MEDIAL_SET:
        return 1
    if j in _FINAL_SET:
        return 2
    return 3


def sub_cost(a: str, b: str) -> float:
    """Cost of hearing jamo ``b`` where ``a`` was said (symmetric)."""
    if a == b:
        return 0.0
    cost = _SUB_COST.get((a, b))
    if cost is not None:
        return cost
    pa, pb = _position(a), _position(b)
    if pa != pb:
        # an initial heard as a final (or vice versa) happens through liaison: 음악 -> 으막
        return 0.8 if {pa, pb} == {0, 2} else 1.5
    return 1.0


def indel_cost(j: str) -> float:
    if j in _SILENT_INITIALS:
        return SILENT_INDEL_COST
    if j in _FINAL_SET:
        return FINAL_INDEL_COST
    return INDEL_COST


@lru_cache(maxsize=200_000)
def jamo_distance(a: str, b: str) -> float:
    """Weighted edit distance between the jamo spellings of two strings (spaces ignored)."""
    ja = decompose(a.replace(" ", ""))
    jb = decompose(b.replace(" ", ""))
    n, m = len(ja), len(jb)
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + indel_cost(jb[j - 1])
    for i in range(1, n + 1):
        ci = ja[i - 1]
        cur = [prev[0] + indel_cost(ci)] + [0.0] * m
        for j in range(1, m + 1):
            cj = jb[j - 1]
            cur[j] = min(
                prev[j] + indel_cost(ci),
                cur[j - 1] + indel_cost(cj),
                prev[j - 1] + sub_cost(ci, cj),
            )
        prev = cur
    return prev[m]


def phonetic_distance(a: str, b: str) -> float:
    """Jamo distance normalised by the longer jamo length: 0 identical, ~1 unrelated.

    This is the "normalised Levenshtein over decomposed jamo" of the original design, with
    Korean costs; the corrector's ``max_phonetic_distance`` (0.28) is a threshold on it.
    """
    la = len(decompose(a.replace(" ", "")))
    lb = len(decompose(b.replace(" ", "")))
    longest = max(la, lb)
    if longest == 0:
        return 0.0
    return jamo_distance(a, b) / longest
