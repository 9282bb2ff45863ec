"""Label names in training data: the project's categories and the AI Hub taxonomy mapped onto them.

The classifier never hard-codes its label set: the labels come from the training data and
are stored with the model (``classifier.json`` and the store metadata). This module only
knows how to *normalise* label names found in user data (AI Hub's Korean class names, the
original project's English ones) onto our categories, and how to order them stably.
"""

from __future__ import annotations

DEFAULT_LABELS = (
    "normal",
    "medical",
    "fire",
    "accident",
    "help",
    "robbery",
    "theft",
    "sexual",
    "violence",
    "threat",
)
"""The labels of our own data set, in their preferred order (crime comes as its five subtypes)."""

CRIME_SUBTYPES = ("robbery", "theft", "sexual", "violence", "threat")
CATEGORY_OF: dict[str, str] = {subtype: "crime" for subtype in CRIME_SUBTYPES}
"""Fine label -> category, stored with the model (``classifier.json`` ``categories``); labels
not listed are categories themselves. A plain ``crime`` label (data without a subtype)
stays ``crime``."""

AIHUB_LABEL_MAP: dict[str, str] = {
    # AI Hub "위급상황 음성/음향" classes
    "강제추행(성범죄)": "sexual",
    "강제추행": "sexual",
    "성범죄": "sexual",
    "강도범죄": "robbery",
    "절도범죄": "theft",
    "폭력범죄": "violence",
    "화재": "fire",
    "전기사고": "fire",
    "가스사고": "fire",
    "응급의료": "medical",
    "도움요청": "help",
    "갇힘": "accident",
    "낙상": "accident",
    "붕괴사고": "accident",
    "태풍-강풍": "accident",
    "지진": "accident",
    "교통사고": "accident",
    "실내": "normal",
    "실외": "normal",
    # the original project's (seeds/000) class names: regular, help, robbery, sexual, theft,
    # violence; all but "regular" are labels of ours as they are
    "regular": "normal",
    # seeds/002 binary labels have no category; "danger" cannot be mapped and is refused
    "일반": "normal",
    "정상": "normal",
}


def normalise_label(raw: str, known: set[str] | None = None) -> str:
    """Map a raw label (ours, AI Hub's Korean name or the seed project's) to a category.

    ``known``: labels accepted as they are (the categories of the data being merged);
    a label that is neither known nor in :data:`AIHUB_LABEL_MAP` is returned lower-cased,
    so a user's own label set still works.
    """
    label = raw.strip()
    if label in AIHUB_LABEL_MAP:
        return AIHUB_LABEL_MAP[label]
    lowered = label.lower()
    if known is not None and lowered in known:
        return lowered
    return AIHUB_LABEL_MAP.get(lowered, lowered)


def order_labels(labels: set[str] | list[str]) -> list[str]:
    """A stable label order: the default categories first (in their order), then others sorted.

    Stable ids keep checkpoints, metrics and tests comparable between runs.
    """
    present = set(labels)
    ordered = [name for name in DEFAULT_LABELS if name in present]
    ordered += sorted(present - set(ordered))
    return ordered
