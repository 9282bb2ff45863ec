"""Corrupt clean Korean the way ASR does: small seeded operations, and the two mixes built from them.

Whisper's Korean errors are mostly phonetic: it writes what it hears. So the operations
are the sound changes of spoken Korean and the confusions of the recogniser: silent or
weakened ㅎ (저혈당 -> 저열당), tensing and aspiration (당 -> 땅), merged vowels (ㅐ/ㅔ,
ㅚ/ㅙ/ㅞ, ㅢ), coda neutralisation and nasalisation (습니다 -> 슴니다), liaison
(응급의료 -> 응그븨료), dropped or merged syllables (지금부터 -> 지금부), lost spacing
and lost punctuation. Every operation takes and returns text and draws only from ``rng``.

Two models train on such text and want different amounts of it: the error corrector
learns to undo a few heavy edits (:func:`corrupt`), the text classifier only has to keep
working on raw transcripts, so its augmentation sprinkles light noise (:func:`asr_noise`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from triage.jamo import (
    as_final,
    as_initial,
    as_medial,
    is_hangul_syllable,
    join_syllable,
    split_syllable,
)


def _confusions(spec: str, convert: Callable[[str], str]) -> dict[str, list[str]]:
    """Jamo -> the jamo it is confused with, from space-separated groups of compatibility letters."""
    out: dict[str, list[str]] = {}
    for group in spec.split():
        for a in group:
            out.setdefault(convert(a), []).extend(convert(b) for b in group if b != a)
    return out


INITIAL_CONFUSIONS = _confusions("ㄱㄲㅋ ㄷㄸㅌ ㅂㅃㅍ ㅈㅉㅊ ㅅㅆ ㅎㅇ ㄴㄹ", as_initial)
MEDIAL_CONFUSIONS = _confusions("ㅐㅔ ㅒㅖ ㅚㅙㅞ ㅢㅣ ㅢㅡ ㅓㅗ ㅕㅛ ㅡㅜ", as_medial)
FINAL_CONFUSIONS = _confusions("ㄷㅅㅆㅈㅊㅌㅎ ㄱㄲㅋ ㅂㅍ ㅇㄴ ㄴㅁ", as_final)
_NASALISE = {as_final(a): as_final(b) for a, b in ("ㄱㅇ", "ㄷㄴ", "ㅂㅁ", "ㅅㄴ", "ㅆㄴ")}
_NASAL_INITIALS = {as_initial("ㄴ"), as_initial("ㅁ")}
_LIAISON = {as_final(c): as_initial(c) for c in "ㄱㄲㄴㄷㄹㅁㅂㅅㅆㅈㅊㅋㅌㅍ"}
"""Finals that are heard as the next syllable's initial when it starts with a silent ㅇ."""
_SILENT = as_initial("ㅇ")


def _syllable_positions(text: str) -> list[int]:
    return [k for k, c in enumerate(text) if is_hangul_syllable(c)]


def _adjacent_syllables(text: str) -> list[int]:
    """Positions ``k`` where ``text[k]`` and ``text[k + 1]`` are both Hangul syllables."""
    return [
        k for k in range(len(text) - 1) if is_hangul_syllable(text[k]) and is_hangul_syllable(text[k + 1])
    ]


def confuse_syllable(ch: str, rng: random.Random) -> str:
    """Replace one jamo of a syllable by a confusable one; a final may also be swallowed."""
    if not is_hangul_syllable(ch):
        return ch
    ini, med, fin = split_syllable(ch)
    choices = []
    if ini in INITIAL_CONFUSIONS:
        choices.append("i")
    if med in MEDIAL_CONFUSIONS:
        choices.append("m")
    if fin:
        choices.append("f")
    if not choices:
        return ch
    what = rng.choice(choices)
    if what == "i":
        ini = rng.choice(INITIAL_CONFUSIONS[ini])
    elif what == "m":
        med = rng.choice(MEDIAL_CONFUSIONS[med])
    else:
        fin = rng.choice(FINAL_CONFUSIONS[fin]) if fin in FINAL_CONFUSIONS and rng.random() < 0.8 else ""
    return join_syllable(ini, med, fin)


def jamo_substitution(text: str, rng: random.Random) -> str:
    """Confuse one jamo of one syllable (:func:`confuse_syllable` at a random position)."""
    pos = _syllable_positions(text)
    if not pos:
        return text
    k = rng.choice(pos)
    return text[:k] + confuse_syllable(text[k], rng) + text[k + 1 :]


def liaison(text: str, rng: random.Random) -> str:
    """Spell a final consonant as the next syllable's initial, as it is pronounced (음악 -> 으막)."""
    sites = []
    for k in _adjacent_syllables(text):
        ini = _LIAISON.get(split_syllable(text[k])[2])
        if ini and split_syllable(text[k + 1])[0] == _SILENT:
            sites.append((k, ini))
    if not sites:
        return text
    k, ini = rng.choice(sites)
    a0, a1, _ = split_syllable(text[k])
    _, b1, b2 = split_syllable(text[k + 1])
    return text[:k] + join_syllable(a0, a1, "") + join_syllable(ini, b1, b2) + text[k + 2 :]


def nasalisation(text: str, rng: random.Random) -> str:
    """ㄱ/ㄷ/ㅂ codas before ㄴ/ㅁ become nasals, as spoken (습니다 -> 슴니다)."""
    sites = [
        k
        for k in _adjacent_syllables(text)
        if split_syllable(text[k])[2] in _NASALISE and split_syllable(text[k + 1])[0] in _NASAL_INITIALS
    ]
    if not sites:
        return text
    k = rng.choice(sites)
    a0, a1, a2 = split_syllable(text[k])
    return text[:k] + join_syllable(a0, a1, _NASALISE[a2]) + text[k + 1 :]


def syllable_drop(text: str, rng: random.Random) -> str:
    """Drop one syllable (the recogniser swallowed it: 지금부터 -> 지금부)."""
    pos = _syllable_positions(text)
    if len(pos) < 4:
        return text
    k = rng.choice(pos)
    return text[:k] + text[k + 1 :]


def syllable_merge(text: str, rng: random.Random) -> str:
    """Merge two adjacent syllables into one (initial of the first, rhyme of the second)."""
    sites = _adjacent_syllables(text)
    if not sites:
        return text
    k = rng.choice(sites)
    a0, _, _ = split_syllable(text[k])
    _, b1, b2 = split_syllable(text[k + 1])
    return text[:k] + join_syllable(a0, b1, b2) + text[k + 2 :]


def spacing_loss(text: str, rng: random.Random) -> str:
    """Remove one space, or all of them (ASR often glues a short utterance together)."""
    spaces = [k for k, c in enumerate(text) if c == " "]
    if not spaces:
        return text
    if rng.random() < 0.3:
        return text.replace(" ", "")
    k = rng.choice(spaces)
    return text[:k] + text[k + 1 :]


def drop_spaces(text: str, rng: random.Random, p: float) -> str:
    """Remove each space with probability ``p`` (word boundaries the recogniser did not hear)."""
    pieces = text.split(" ")
    out = pieces[0]
    for piece in pieces[1:]:
        out += piece if rng.random() < p else " " + piece
    return out


def punctuation_loss(text: str, rng: random.Random) -> str:
    """Remove sentence punctuation (Whisper often drops or changes it)."""
    return "".join(c for c in text if c not in ".,?!")


WEIGHTED_CORRUPTIONS = [
    (jamo_substitution, 5.0),
    (liaison, 1.5),
    (nasalisation, 1.0),
    (syllable_drop, 0.7),
    (syllable_merge, 0.7),
    (spacing_loss, 1.5),
]


def corrupt(text: str, rng: random.Random, max_edits: int = 3) -> str:
    """Apply 1..max_edits ASR-like corruptions (punctuation sometimes dropped on top)."""
    funcs, weights = zip(*WEIGHTED_CORRUPTIONS, strict=True)
    out = text
    for _ in range(rng.randint(1, max_edits)):
        out = rng.choices(funcs, weights=weights)[0](out, rng)
    if rng.random() < 0.3:
        out = punctuation_loss(out, rng)
    return out


def asr_noise(text: str, rng: random.Random, p_syllable: float = 0.06, p_space: float = 0.3) -> str:
    """Light noise for augmentation: syllables confused with ``p_syllable``, spaces dropped with ``p_space``.

    Sometimes one liaison and lost punctuation on top; never an empty string.
    """
    noisy = "".join(confuse_syllable(c, rng) if rng.random() < p_syllable else c for c in text)
    if rng.random() < 0.3:
        noisy = liaison(noisy, rng)
    noisy = drop_spaces(noisy, rng, p_space)
    if rng.random() < 0.3:
        noisy = punctuation_loss(noisy, rng)
    return noisy or text
