"""How Korean reads digits and Latin letters aloud, so a CER can ignore how numbers are written.

Whisper writes "300cc", "29일", "LA", "165cm"; the corpus (a speech-synthesis database)
spells every one of them in Hangul: 삼백씨씨, 이십구일, 엘에이, 백육십오센티미터. Counted
character by character, that convention alone makes about a fifth of Whisper's measured
errors on the corpus. A number has several correct readings (Sino-Korean 삼, native 세 before
a counter, digit by digit for codes and phone numbers), so this module lists them and
:func:`triage.metrics.cer` picks, for each written number, the reading its reference used.
"""

from __future__ import annotations

import re
import string

SINO_DIGITS = "영일이삼사오육칠팔구"
SINO_UNITS = (("천", 1000), ("백", 100), ("십", 10), ("", 1))
SINO_GROUPS = ("", "만", "억", "조", "경")
NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
NATIVE_ONES = ("", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
NATIVE_BEFORE_COUNTER = {"하나": "한", "둘": "두", "셋": "세", "넷": "네"}
"""The shortened forms used before a counter: 한 명, 두 시, 세 개, 네 살."""

LETTER_NAMES = dict(
    zip(
        string.ascii_uppercase,
        (
            "에이",
            "비",
            "씨",
            "디",
            "이",
            "에프",
            "지",
            "에이치",
            "아이",
            "제이",
            "케이",
            "엘",
            "엠",
            "엔",
            "오",
            "피",
            "큐",
            "알",
            "에스",
            "티",
            "유",
            "브이",
            "더블유",
            "엑스",
            "와이",
            "제트",
        ),
        strict=True,
    )
)
"""Each Latin letter's Korean name, as an acronym is read: LA 엘에이, HD 에이치디."""

WORD_READINGS = {
    "%": ("퍼센트", "프로"),
    "cc": ("씨씨",),
    "cm": ("센티미터", "센티"),
    "mm": ("밀리미터", "밀리"),
    "km": ("킬로미터", "킬로"),
    "kg": ("킬로그램", "킬로"),
    "ml": ("밀리리터",),
    "m": ("미터",),
    "g": ("그램",),
    "tv": ("티비", "티브이"),
}
"""Units and words read as words, not letter by letter (TV is 티비 more often than 티브이)."""

MAX_SPELLED_LETTERS = 5
"""Longer Latin words are English words, not acronyms: they are left as written."""

WRITTEN_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[A-Za-z]+|%")
"""A run Korean would read aloud differently from how it is written: a number, a Latin word, %."""


def sino_korean(number: int) -> str:
    """``number`` in Sino-Korean words: 165 -> 백육십오, 80000 -> 팔만, 0 -> 영."""
    if number == 0:
        return SINO_DIGITS[0]
    groups: list[str] = []
    for group_name in SINO_GROUPS:
        if not number:
            break
        number, part = divmod(number, 10_000)
        if not part:
            continue
        words = ""
        for unit, value in SINO_UNITS:
            digit, part = divmod(part, value)
            if digit:
                words += ("" if digit == 1 and unit else SINO_DIGITS[digit]) + unit
        if words == SINO_DIGITS[1] and group_name == "만":
            words = ""  # 10,000 is 만, not 일만 (but 100,000,000 is 일억)
        groups.append(words + group_name)
    return "".join(reversed(groups))


def native_korean(number: int, before_counter: bool) -> str | None:
    """``number`` (1-99) in native words, or ``None``: 3 -> 셋, or 세 before a counter."""
    if not 0 < number < 100:
        return None
    tens, ones = divmod(number, 10)
    if before_counter and number == 20:
        return "스무"
    ones_word = NATIVE_ONES[ones]
    if before_counter:
        ones_word = NATIVE_BEFORE_COUNTER.get(ones_word, ones_word)
    return NATIVE_TENS[tens] + ones_word


def number_readings(written: str) -> list[str]:
    """Every usual reading of a written number, the Sino-Korean one first."""
    digits = written.replace(",", "")
    if "." in digits:
        whole, fraction = digits.split(".", 1)
        return [sino_korean(int(whole)) + "점" + "".join(SINO_DIGITS[int(d)] for d in fraction)]
    number = int(digits)
    readings = [
        sino_korean(number),
        "".join(SINO_DIGITS[int(d)] for d in digits),
        "".join("공" if d == "0" else SINO_DIGITS[int(d)] for d in digits),
    ]
    readings += [r for flag in (True, False) if (r := native_korean(number, flag))]
    return list(dict.fromkeys(readings))


def latin_readings(written: str) -> list[str]:
    """Readings of a Latin word or %: a unit's name, and an acronym's letters."""
    readings = list(WORD_READINGS.get(written.lower(), ()))
    if written.isalpha() and len(written) <= MAX_SPELLED_LETTERS:
        readings.append("".join(LETTER_NAMES[c] for c in written.upper()))
    return readings


def spoken_readings(written: str) -> list[str]:
    """The readings of one :data:`WRITTEN_TOKEN` match, the written form itself last."""
    readings = number_readings(written) if written[0].isdigit() else latin_readings(written)
    return [*readings, written]
