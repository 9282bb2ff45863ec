"""The heads over the frozen encoder's sentence vectors: the category head, mixed with the BERT
members' category distribution, and the emergency head, mixed with their P(emergency).

*Which* emergency: ``weight`` x the members' distribution over the emergency categories plus
(1 - ``weight``) x the category head's. Mixed on dev (``test.tsv``, ``dev_far.tsv``) at 0.5,
the category was right more often than with either alone. Texts the model does not call
emergencies keep the members' category distribution: fusion reads every category's
probability, and mixed into everyday speech the category head's confident guesses (it only
knows emergencies) raised the refit fusion's everyday false alarms on dev from 0 to 2 of 54.

*Whether* it is one: ``weight`` x the members' P(emergency) plus (1 - ``weight``) x the
emergency head's, a logistic regression on the same vectors fitted on the training split's
sentences, emergencies against everyday speech. The members learnt their few thousand
sentences' style as well as their meaning; the pretrained encoder has read far more Korean,
and the two make different mistakes on sentences unlike the training data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HEAD_JSON = "category_head.json"
EMERGENCY_HEAD_JSON = "emergency_head.json"


def standardised_logits(features: np.ndarray, mean, scale, coef, intercept) -> np.ndarray:
    """``((features - mean) / scale) @ coef.T + intercept``: a scikit-learn logistic regression
    on standardised vectors, without scikit-learn at serving."""
    x = (features - np.asarray(mean)) / np.asarray(scale)
    return x @ np.asarray(coef).T + np.asarray(intercept)


def save_head(head, path: Path) -> None:
    """A head's fields as JSON."""
    path.write_text(json.dumps(asdict(head)), encoding="utf-8")


def load_head(cls, path: Path):
    """The ``cls`` head stored at ``path``; ``None`` where a model was trained without one."""
    return cls(**json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


@dataclass
class CategoryHead:
    """Standardisation and multinomial logistic-regression weights over the emergency categories."""

    categories: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]
    intercept: list[float]
    weight: float
    """Share of the BERT members' category distribution in the mix (1: the head is ignored)."""
    encoder: str
    """Store tag of the sentence encoder the head was fitted on."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """[n, len(categories)] P(category | emergency) from sentence vectors."""
        logits = standardised_logits(features, self.mean, self.scale, self.coef, self.intercept)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        save_head(self, folder / HEAD_JSON)

    @classmethod
    def load(cls, folder: Path) -> CategoryHead | None:
        """The head stored in ``folder``; ``None`` for a model trained without one."""
        return load_head(cls, folder / HEAD_JSON)


@dataclass
class EmergencyHead:
    """Standardisation and binary logistic-regression weights: emergency against everyday speech."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    weight: float
    """Share of the BERT members' P(emergency) in the mix (1: the head is ignored)."""
    encoder: str
    """Store tag of the sentence encoder the head was fitted on."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """[n] P(emergency) from sentence vectors."""
        logits = standardised_logits(features, self.mean, self.scale, self.coef, self.intercept)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))

    def save(self, folder: Path) -> None:
        save_head(self, folder / EMERGENCY_HEAD_JSON)

    @classmethod
    def load(cls, folder: Path) -> EmergencyHead | None:
        """The head stored in ``folder``; ``None`` for a model trained without one."""
        return load_head(cls, folder / EMERGENCY_HEAD_JSON)
