"""Fit the category head (:mod:`triage.text_classifier.category_head`) on the training sentences.

The emergencies of the classifier's own training split (generated and hand-written sentences,
each once, before augmentation: the encoder is frozen, so copies add nothing), their category
as target. scikit-learn's multinomial logistic regression on standardised vectors; C = 1.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from training.text_classifier.data import Example
from training.text_classifier.labels import CATEGORY_OF
from triage.text_classifier import NORMAL_LABEL
from triage.text_classifier.category_head import CategoryHead
from triage.text_classifier.encoder import SentenceEncoder

HEAD_C = 1.0
MEMBERS_WEIGHT = 0.5
"""Share of the BERT members' distribution in the mixed category, chosen on dev."""


def fit_category_head(examples: list[Example], encoder: SentenceEncoder, encoder_tag: str) -> CategoryHead:
    """A head over ``encoder``'s vectors of the distinct emergency sentences in ``examples``."""
    started = time.perf_counter()
    pairs = {ex.text: CATEGORY_OF.get(ex.label, ex.label) for ex in examples if ex.label != NORMAL_LABEL}
    texts = list(pairs)
    features = encoder.embed(texts)
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(C=HEAD_C, max_iter=3000).fit(
        scaler.transform(features), [pairs[t] for t in texts]
    )
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


def head_accuracy(head: CategoryHead, encoder: SentenceEncoder, examples: list[Example]) -> float | None:
    """The head alone: share of the emergencies in ``examples`` given their category."""
    emergencies = [ex for ex in examples if ex.label != NORMAL_LABEL]
    if not emergencies:
        return None
    p = head.probabilities(encoder.embed([ex.text for ex in emergencies]))
    predicted = [head.categories[i] for i in p.argmax(axis=1)]
    truth = [CATEGORY_OF.get(ex.label, ex.label) for ex in emergencies]
    return round(float(np.mean([a == b for a, b in zip(predicted, truth, strict=True)])), 4)
