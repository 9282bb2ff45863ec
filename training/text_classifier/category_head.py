"""Fit the heads over the frozen encoder (:mod:`triage.text_classifier.category_head`).

Both on the classifier's own training split, each sentence once, before augmentation (the
encoder is frozen, so copies add nothing), with scikit-learn's logistic regression on
standardised vectors. The category head: the split's emergencies, their category as target,
C = 1. The emergency head: every sentence of the split (generated, hand-written and the
corpus train speakers' everyday speech), emergency or not as target, classes weighed
equally, C = 0.1 (on dev, each alone at its 1 %-false-alarm threshold: C 0.01, 0.1 and 1
found 0.979, 0.957 and 0.957 of ``test.tsv``'s emergencies and 0.938, 0.969 and 0.969 of
``dev_far.tsv``'s).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from training.text_classifier.data import Example
from training.text_classifier.labels import CATEGORY_OF
from triage.text_classifier import NORMAL_LABEL
from triage.text_classifier.category_head import CategoryHead, EmergencyHead
from triage.text_classifier.encoder import SentenceEncoder

HEAD_C = 1.0
MEMBERS_WEIGHT = 0.5
"""Share of the BERT members' distribution in the mixed category, chosen on dev."""
EMERGENCY_HEAD_C = 0.1
EMERGENCY_MEMBERS_WEIGHT = 0.5
"""Share of the BERT members' P(emergency) in the mix: an even average of the two views."""
EMBED_CHUNK = 64


def sentence_vectors(examples: list[Example], encoder: SentenceEncoder) -> dict[str, np.ndarray]:
    """The encoder's vector of each distinct sentence of ``examples`` (minutes for thousands)."""
    texts = list(dict.fromkeys(ex.text for ex in examples))
    chunks = [
        encoder.embed(texts[start : start + EMBED_CHUNK])
        for start in tqdm(range(0, len(texts), EMBED_CHUNK), desc="sentence vectors", unit="batch")
    ]
    return dict(zip(texts, np.concatenate(chunks), strict=True))


def _fit(
    features: np.ndarray, targets: list, c: float, balanced: bool
) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None).fit(
        scaler.transform(features), targets
    )
    return scaler, regression


def fit_category_head(
    examples: list[Example], vectors: dict[str, np.ndarray], encoder_tag: str
) -> CategoryHead:
    """A head over the ``vectors`` of the distinct emergency sentences in ``examples``."""
    started = time.perf_counter()
    pairs = {ex.text: CATEGORY_OF.get(ex.label, ex.label) for ex in examples if ex.label != NORMAL_LABEL}
    texts = list(pairs)
    scaler, regression = _fit(np.stack([vectors[t] for t in texts]), [pairs[t] for t in texts], HEAD_C, False)
    categories = [str(c) for c in regression.classes_]
    print(
        f"category head: {len(texts)} emergency sentences, categories {categories}, "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return CategoryHead(
        categories=categories,
        mean=scaler.mean_.tolist(),
        scale=scaler.scale_.tolist(),
        coef=regression.coef_.tolist(),
        intercept=regression.intercept_.tolist(),
        weight=MEMBERS_WEIGHT,
        encoder=encoder_tag,
    )


def fit_emergency_head(
    examples: list[Example], vectors: dict[str, np.ndarray], encoder_tag: str
) -> EmergencyHead:
    """A binary head over the ``vectors`` of the distinct sentences in ``examples``."""
    started = time.perf_counter()
    pairs = {ex.text: int(ex.label != NORMAL_LABEL) for ex in examples}
    texts = list(pairs)
    targets = [pairs[t] for t in texts]
    scaler, regression = _fit(np.stack([vectors[t] for t in texts]), targets, EMERGENCY_HEAD_C, True)
    print(
        f"emergency head: {len(texts)} sentences ({sum(targets)} emergencies), "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return EmergencyHead(
        mean=scaler.mean_.tolist(),
        scale=scaler.scale_.tolist(),
        coef=regression.coef_[0].tolist(),
        intercept=float(regression.intercept_[0]),
        weight=EMERGENCY_MEMBERS_WEIGHT,
        encoder=encoder_tag,
    )


def head_accuracy(head: CategoryHead, encoder: SentenceEncoder, examples: list[Example]) -> float | None:
    """The head alone: share of the emergencies in ``examples`` given their category."""
    emergencies = [ex for ex in examples if ex.label != NORMAL_LABEL]
    if not emergencies:
        return None
    p = head.probabilities(encoder.embed([ex.text for ex in emergencies]))
    predicted = [head.categories[i] for i in p.argmax(axis=1)]
    truth = [CATEGORY_OF.get(ex.label, ex.label) for ex in emergencies]
    return round(float(np.mean([a == b for a, b in zip(predicted, truth, strict=True)])), 4)
