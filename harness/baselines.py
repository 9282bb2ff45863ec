"""The trivial baselines every accuracy figure is quoted beside, in evaluation and in tests.

A model is only worth its cost if it beats answering the same thing every time (always
normal, always emergency) and a keyword rule a dispatcher could write in five minutes.
The rule below was written from general knowledge of Korean emergency calls, before the
held-out sets were looked at, and is never tuned on them.
"""

from __future__ import annotations

import re

NORMAL = "normal"

KEYWORDS: dict[str, tuple[str, ...]] = {
    "fire": ("불이", "불났", "불나", "불길", "연기", "타요", "타고 있", "화재", "가스 냄새", "폭발"),
    "crime": (
        "강도",
        "도둑",
        "칼",
        "때려",
        "때리",
        "맞았",
        "폭행",
        "납치",
        "성추행",
        "만져",
        "쫓아",
        "따라와",
        "죽이",
    ),
    "accident": ("사고", "치였", "부딪", "떨어졌", "깔렸", "갇혔", "빠졌", "추락", "무너", "넘어졌"),
    "medical": ("쓰러", "숨을", "숨이", "의식", "피가", "심장", "경련", "발작", "토하", "아파요"),
    "help": ("살려", "도와", "119", "112", "신고"),
}
"""Category keywords in the order they are checked; the first category with a hit wins."""

_SPACE = re.compile(r"\s+")


def keyword_category(text: str) -> str:
    """The first category whose keywords occur in ``text`` (spacing ignored), else ``normal``."""
    squeezed = _SPACE.sub("", text)
    for category, words in KEYWORDS.items():
        if any(_SPACE.sub("", word) in squeezed for word in words):
            return category
    return NORMAL


def baseline_predictions(texts: list[str]) -> dict[str, list[str]]:
    """Each baseline's category for every text: always normal, always emergency, keyword rule.

    "Always emergency" needs a category: it answers the most common emergency category of
    the training data (``medical``), the best a constant can do on category accuracy.
    """
    return {
        "always normal": [NORMAL] * len(texts),
        "always emergency": ["medical"] * len(texts),
        "keyword rule": [keyword_category(t) for t in texts],
    }
