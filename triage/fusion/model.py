"""Fusion models: a logistic regression over both classifiers' probabilities, and the baseline.

The original system fused raw logits with a depth-10 decision tree trained on 407 rows: it
returned hard, uncalibrated votes and could not be inspected. Here the fused probability
is a logistic regression over the two models' calibrated probabilities (a handful of
weights, stored as JSON in the model store, readable and calibrated by construction),
compared against the fixed weighted average it must beat.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from triage.audio_classifier.schemas import AudioPrediction
from triage.fusion.dispatch import agency_for
from triage.fusion.schemas import Decision, Evidence
from triage.text_classifier import NORMAL_LABEL
from triage.text_classifier.schemas import TextPrediction

FUSION_JSON = "fusion.json"
EPS = 1e-4


def feature_vector(
    text: TextPrediction, audio: AudioPrediction, text_labels: list[str], audio_labels: list[str]
) -> np.ndarray:
    """Log-probabilities of every text label then every audio label, in the stored order."""
    probs = [text.probabilities[label] for label in text_labels]
    probs += [audio.probabilities[label] for label in audio_labels]
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), EPS, 1.0))


@dataclass(frozen=True)
class LogisticFusion:
    """P(emergency) = sigmoid(w · log-probabilities + b); decided against ``threshold``."""

    text_labels: list[str]
    audio_labels: list[str]
    weights: list[float]
    bias: float
    threshold: float = 0.5

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(features) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, folder: Path) -> None:
        (folder / FUSION_JSON).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LogisticFusion:
        return cls(**json.loads((folder / FUSION_JSON).read_text(encoding="utf-8")))

    def decide(self, text: TextPrediction, audio: AudioPrediction) -> Decision:
        """The fused decision for one clip."""
        features = feature_vector(text, audio, self.text_labels, self.audio_labels)
        probability = float(self.probability(features)[0])
        return make_decision(probability, self.threshold, text, audio, "logistic")


def weighted_average(text: TextPrediction, audio: AudioPrediction, text_weight: float = 0.7) -> float:
    """The baseline: a fixed blend of P(emergency) from text and P(not calm) from audio."""
    return text_weight * text.emergency_probability + (1 - text_weight) * audio.distress_probability


def audio_only(audio: AudioPrediction, threshold: float = 0.5) -> Decision:
    """No words were heard (an alarm, a crash, a scream): the sound alone decides."""
    return make_decision(audio.distress_probability, threshold, None, audio, "audio_only")


def make_decision(
    probability: float, threshold: float, text: TextPrediction | None, audio: AudioPrediction, method: str
) -> Decision:
    """Attach the category: the most probable non-normal text label when it is an emergency."""
    is_emergency = probability >= threshold
    text_probabilities = text.probabilities if text else {}
    kinds = {k: v for k, v in text_probabilities.items() if k != NORMAL_LABEL}
    category = max(kinds, key=kinds.__getitem__) if is_emergency and kinds else NORMAL_LABEL
    subtype = text.subtype if text is not None and is_emergency and text.label == category else None
    return Decision(
        is_emergency=is_emergency,
        emergency_probability=round(min(max(probability, 0.0), 1.0), 6),
        category=category,
        subtype=subtype,
        agency=agency_for(category if kinds else None, is_emergency),
        category_probabilities=text_probabilities,
        method=method,
        evidence=Evidence(text=text, audio=audio),
    )
