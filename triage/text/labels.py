"""Label names: the project's categories and the AI Hub taxonomy mapped onto them.

The classifier never hard-codes its label set: the labels come from the training data and
are stored with the model (``labels.json`` + metadata). This module only knows how to
*normalise* label names found in user data (AI Hub's Korean class names, the original
project's English ones) onto our categories, and which label means "no emergency".
"""

from __future__ import annotations

NORMAL_LABEL = "normal"
"""The one label that is not an emergency; emergency probability = 1 - P(normal)."""

DEFAULT_LABELS = ("normal", "medical", "fire", "crime", "accident")
"""The categories of our own data set (documentation and label-order preference only)."""

AIHUB_LABEL_MAP: dict[str, str] = {
    # AI Hub "위급상황 음성/음향" classes
    "강제추행(성범죄)": "crime",
    "강제추행": "crime",
    "성범죄": "crime",
    "강도범죄": "crime",
    "절도범죄": "crime",
    "폭력범죄": "crime",
    "화재": "fire",
    "전기사고": "fire",
    "가스사고": "fire",
    "응급의료": "medical",
    "도움요청": "medical",
    "갇힘": "accident",
    "낙상": "accident",
    "붕괴사고": "accident",
    "태풍-강풍": "accident",
    "지진": "accident",
    "교통사고": "accident",
    "실내": "normal",
    "실외": "normal",
    # the original project's (seeds/000) English class names
    "regular": "normal",
    "help": "medical",
    "robbery": "crime",
    "sexual": "crime",
    "theft": "crime",
    "violence": "crime",
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
