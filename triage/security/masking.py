"""Mask the personal numbers and addresses a caller may say before a transcript is logged.

Transcripts are written to the audit trail only when an operator opts in, and even then
resident registration numbers (주민등록번호), card numbers, phone numbers and e-mail
addresses are replaced by a tag saying what was there. Whisper writes numbers as digits
(full-width ones too, which ``\\d`` matches) and sometimes as Sino-Korean digit words
(공일공 일이삼사 ...), so runs of seven or more such words are masked as phone numbers as
well. Digits are delimited by lookarounds, not ``\\b``: Hangul counts as a word character,
so ``010-1234-5678로`` has no word boundary after the number.
"""

from __future__ import annotations

import re

_SEP = r"[\s.\-]?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[email]", re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")),
    # YYMMDD-SNNNNNN: birth date, then a 1-8 sex/century digit and six more.
    ("[rrn]", re.compile(r"(?<!\d)\d{2}[01]\d[0-3]\d\s?[-–]?\s?[1-8]\d{6}(?!\d)")),
    # 15 or 16 digits, grouped 4-4-4-4 or 4-6-5 (Amex), any separators.
    (
        "[card]",
        re.compile(
            rf"(?<!\d)(?:\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{5}})(?!\d)"
        ),
    ),
    # Korean numbers: 010-1234-5678, 02 123 4567, (02)345-6789, 02)345-6789, +82 10-1234-5678, 1588-1234.
    (
        "[phone]",
        re.compile(
            rf"(?<![\d+])(?:\+82{_SEP}|\(?0)\d{{1,2}}\)?{_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)"
            rf"|(?<!\d)1[5-9]\d{{2}}{_SEP}\d{{4}}(?!\d)"
        ),
    ),
    ("[phone]", re.compile(r"[공영일이삼사오육칠팔구](?:[\s\-]?[공영일이삼사오육칠팔구]){6,}")),
]


def mask_personal_data(text: str) -> str:
    """``text`` with every e-mail, resident registration, card and phone number replaced by a tag."""
    for tag, pattern in _PATTERNS:
        text = pattern.sub(tag, text)
    return text
