"""Corrupt clean Korean the way ASR does, to make (noisy, clean) training and evaluation pairs.

Whisper's Korean errors are mostly phonetic: it writes what it hears. So the corruptions
are the sound changes of spoken Korean and the confusions of the recogniser: silent or
weakened ㅎ (저혈당 -> 저열당), tensing and aspiration (당 -> 땅), merged vowels (ㅐ/ㅔ,
ㅚ/ㅙ/ㅞ, ㅢ), coda neutralisation and nasalisation (습니다 -> 슴니다), liaison
(응급의료 -> 응그븨료), dropped or merged syllables (지금부터 -> 지금부), lost spacing
and lost punctuation.
"""

from __future__ import annotations

import random

from triage.correction.jamo import (
    FINALS,
    INITIALS,
    MEDIALS,
    is_hangul_syllable,
    join_syllable,
    split_syllable,
)


def _i(c: str) -> str:
    return INITIALS["ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ".index(c)]


def _m(c: str) -> str:
    return MEDIALS["ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ".index(c)]


def _f(c: str) -> str:
    return FINALS[1 + "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ".index(c)]


def _pairs(spec: str, conv) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in spec.split():
        for a in group:
            out.setdefault(conv(a), []).extend(conv(b) for b in group if b != a)
    return out


INITIAL_CONFUSIONS = _pairs("ㄱㄲㅋ ㄷㄸㅌ ㅂㅃㅍ ㅈㅉㅊ ㅅㅆ ㅎㅇ ㄴㄹ", _i)
MEDIAL_CONFUSIONS = _pairs("ㅐㅔ ㅒㅖ ㅚㅙㅞ ㅢㅣ ㅢㅡ ㅓㅗ ㅕㅛ ㅡㅜ", _m)
FINAL_CONFUSIONS = _pairs("ㄷㅅㅆㅈㅊㅌㅎ ㄱㄲㅋ ㅂㅍ ㅇㄴ ㄴㅁ", _f)
_NASALISE = {
    _f("ㄱ"): _f("ㅇ"),
    _f("ㄷ"): _f("ㄴ"),
    _f("ㅂ"): _f("ㅁ"),
    _f("ㅅ"): _f("ㄴ"),
    _f("ㅆ"): _f("ㄴ"),
}
_NASAL_INITIALS = {_i("ㄴ"), _i("ㅁ")}
_SILENT = _i("ㅇ")


def _syllable_positions(text: str) -> list[int]:
    return [k for k, c in enumerate(text) if is_hangul_syllable(c)]


def jamo_substitution(text: str, rng: random.Random) -> str:
    """Replace one jamo of one syllable by a confusable one."""
    pos = _syllable_positions(text)
    if not pos:
        return text
    k = rng.choice(pos)
    ini, med, fin = split_syllable(text[k])
    choices = []
    if ini in INITIAL_CONFUSIONS:
        choices.append("i")
    if med in MEDIAL_CONFUSIONS:
        choices.append("m")
    if fin in FINAL_CONFUSIONS or fin:
        choices.append("f")
    if not choices:
        return text
    what = rng.choice(choices)
    if what == "i":
        ini = rng.choice(INITIAL_CONFUSIONS[ini])
    elif what == "m":
        med = rng.choice(MEDIAL_CONFUSIONS[med])
    else:
        fin = rng.choice(FINAL_CONFUSIONS[fin]) if fin in FINAL_CONFUSIONS and rng.random() < 0.8 else ""
    return text[:k] + join_syllable(ini, med, fin) + text[k + 1 :]


def liaison(text: str, rng: random.Random) -> str:
    """Spell a final consonant as the next syllable's initial, as it is pronounced (음악 -> 으막)."""
    sites = []
    for k in range(len(text) - 1):
        a, b = text[k], text[k + 1]
        if is_hangul_syllable(a) and is_hangul_syllable(b):
            fa = split_syllable(a)[2]
            if fa and fa in FINALS and split_syllable(b)[0] == _SILENT:
                ini = _final_as_initial(fa)
                if ini:
                    sites.append((k, ini))
    if not sites:
        return text
    k, ini = rng.choice(sites)
    a0, a1, _ = split_syllable(text[k])
    _, b1, b2 = split_syllable(text[k + 1])
    return text[:k] + join_syllable(a0, a1, "") + join_syllable(ini, b1, b2) + text[k + 2 :]


def _final_as_initial(final: str) -> str | None:
    compat = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"[FINALS.index(final) - 1]
    if compat in "ㄱㄲㄴㄷㄹㅁㅂㅅㅆㅈㅊㅋㅌㅍ":
        return _i(compat)
    return None


def nasalisation(text: str, rng: random.Random) -> str:
    """ㄱ/ㄷ/ㅂ codas before ㄴ/ㅁ become nasals, as spoken (습니다 -> 슴니다)."""
    sites = []
    for k in range(len(text) - 1):
        a, b = text[k], text[k + 1]
        if is_hangul_syllable(a) and is_hangul_syllable(b):
            fa = split_syllable(a)[2]
            if fa in _NASALISE and split_syllable(b)[0] in _NASAL_INITIALS:
                sites.append(k)
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
    sites = [
        k for k in range(len(text) - 1) if is_hangul_syllable(text[k]) and is_hangul_syllable(text[k + 1])
    ]
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


def punctuation_loss(text: str, rng: random.Random) -> str:
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


def make_pairs(
    sentences: list[str], seed: int, copies: int = 1, identity_share: float = 0.3, max_edits: int = 3
) -> list[tuple[str, str]]:
    """(noisy, clean) pairs; ``identity_share`` of them are (clean, clean) so the model learns to copy."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(copies):
        for s in sentences:
            if rng.random() < identity_share:
                pairs.append((s, s))
            else:
                noisy = corrupt(s, rng, max_edits)
                pairs.append((noisy, s))
    return pairs


def held_out_pairs(held_out: list[str], seed: int = 20261129, max_edits: int = 2) -> list[tuple[str, str]]:
    """Noisy versions of every held-out sentence (never clean copies), for CER before/after."""
    rng = random.Random(seed)
    out = []
    for s in held_out:
        noisy = corrupt(s, rng, max_edits)
        if noisy != s:
            out.append((noisy, s))
    return out
