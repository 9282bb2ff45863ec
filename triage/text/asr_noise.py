"""ASR-like noise for augmentation: jamo-level confusions and dropped spaces.

Whisper mishears Korean in predictable ways: tense/aspirated/lax onsets (ㄱ/ㄲ/ㅋ), vowels
that merged in speech (ㅐ/ㅔ, ㅚ/ㅙ/ㅞ, ㅢ/ㅣ), neutralised final consonants (ㅅ/ㅈ/ㅊ/ㅌ -> ㄷ),
liaison written as heard (불이 -> 부리) and missing spaces. Training on such variants keeps the
classifier working on raw transcripts. Deliberately minimal and self-contained (the error
corrector has its own jamo module for a different purpose: search, not noise).
"""

from __future__ import annotations

import random

_BASE = 0xAC00
_N_JUNG = 21
_N_JONG = 28
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = [
    "",
    "ㄱ",
    "ㄲ",
    "ㄳ",
    "ㄴ",
    "ㄵ",
    "ㄶ",
    "ㄷ",
    "ㄹ",
    "ㄺ",
    "ㄻ",
    "ㄼ",
    "ㄽ",
    "ㄾ",
    "ㄿ",
    "ㅀ",
    "ㅁ",
    "ㅂ",
    "ㅄ",
    "ㅅ",
    "ㅆ",
    "ㅇ",
    "ㅈ",
    "ㅊ",
    "ㅋ",
    "ㅌ",
    "ㅍ",
    "ㅎ",
]

_CHO_CONFUSIONS = ["ㄱㄲㅋ", "ㄷㄸㅌ", "ㅂㅃㅍ", "ㅈㅉㅊ", "ㅅㅆ"]
_JUNG_CONFUSIONS = ["ㅐㅔ", "ㅒㅖ", "ㅚㅙㅞ", "ㅢㅣ", "ㅓㅗ", "ㅕㅛ"]
_JONG_CONFUSIONS = [["ㄱ", "ㅋ", "ㄲ"], ["ㄷ", "ㅅ", "ㅆ", "ㅈ", "ㅊ", "ㅌ"], ["ㅂ", "ㅍ"], ["ㄴ", "ㅇ"]]
_LIAISON_JONG = {"ㄱ", "ㄴ", "ㄷ", "ㄹ", "ㅁ", "ㅂ", "ㅅ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ"}


def is_hangul_syllable(char: str) -> bool:
    """Whether ``char`` is a precomposed Hangul syllable (가-힣)."""
    return "가" <= char <= "힣"


def decompose(char: str) -> tuple[str, str, str]:
    """(onset, vowel, coda) of a Hangul syllable; coda is ``""`` when there is none."""
    index = ord(char) - _BASE
    return CHO[index // (_N_JUNG * _N_JONG)], JUNG[(index // _N_JONG) % _N_JUNG], JONG[index % _N_JONG]


def compose(cho: str, jung: str, jong: str = "") -> str:
    """The syllable made of onset, vowel and (optional) coda."""
    return chr(_BASE + (CHO.index(cho) * _N_JUNG + JUNG.index(jung)) * _N_JONG + JONG.index(jong))


def _neighbour(value: str, groups: list, rng: random.Random) -> str | None:
    for group in groups:
        if value in group:
            others = [v for v in group if v != value]
            return rng.choice(others) if others else None
    return None


def confuse_syllable(char: str, rng: random.Random) -> str:
    """Replace one jamo of ``char`` by an acoustically confusable one (or return ``char``)."""
    if not is_hangul_syllable(char):
        return char
    cho, jung, jong = decompose(char)
    slot = rng.choice(("cho", "jung", "jong") if jong else ("cho", "jung"))
    if slot == "cho":
        cho = _neighbour(cho, _CHO_CONFUSIONS, rng) or cho
    elif slot == "jung":
        jung = _neighbour(jung, _JUNG_CONFUSIONS, rng) or jung
    else:
        jong = _neighbour(jong, _JONG_CONFUSIONS, rng) or jong
    return compose(cho, jung, jong)


def liaison(text: str) -> str:
    """Write liaison as heard: a coda moves onto a following ``ㅇ`` onset (불이 -> 부리)."""
    chars = list(text)
    for i in range(len(chars) - 1):
        a, b = chars[i], chars[i + 1]
        if not (is_hangul_syllable(a) and is_hangul_syllable(b)):
            continue
        cho_a, jung_a, jong_a = decompose(a)
        cho_b, jung_b, jong_b = decompose(b)
        if jong_a in _LIAISON_JONG and cho_b == "ㅇ":
            chars[i] = compose(cho_a, jung_a, "")
            chars[i + 1] = compose(jong_a, jung_b, jong_b)
    return "".join(chars)


def asr_noise(text: str, rng: random.Random, p_syllable: float = 0.06, p_space: float = 0.3) -> str:
    """A plausible mis-transcription of ``text``: confusions, maybe liaison, dropped spaces."""
    chars = [confuse_syllable(c, rng) if rng.random() < p_syllable else c for c in text]
    noisy = "".join(chars)
    if rng.random() < 0.3:
        noisy = liaison(noisy)
    pieces = noisy.split(" ")
    out = pieces[0]
    for piece in pieces[1:]:
        out += piece if rng.random() < p_space else " " + piece
    if rng.random() < 0.3:  # Whisper often drops or changes final punctuation
        out = out.rstrip(".?!,~ ")
    return out or text
