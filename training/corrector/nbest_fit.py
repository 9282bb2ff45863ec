"""Fit how the corrector weighs Whisper's alternatives, on the corpus **train** speakers' real n-best.

Each of Whisper's alternatives that ``/analyze`` would offer the corrector (the same
:func:`~triage.corrector.candidates.nbest_candidates`, the same kiwipiepy scores) becomes one
example: its features (:func:`~triage.corrector.rerank.nbest_features`) and whether putting it in
place of Whisper's text lowers the clip's CER read aloud (alternatives that leave the CER as it
was teach nothing and are left out). A logistic regression over them gives
:class:`~triage.corrector.config.NBestWeights`; the threshold on its logit (``nbest_tau``) is
then picked on the dev speakers (:mod:`training.corrector.tune`), and the test speakers are left
to ``benchmarks.eval_real``.

Why a fit and not a hand-set weight: on the train speakers' clips, kiwipiepy alone rewarded
alternatives that drop a syllable (아이유 -> 아유, "저 오늘" -> "저는"), because its score is a
sum over morphemes; the fitted weights take that back and set Whisper's share from data.
"""

from __future__ import annotations

import numpy as np

from training.corrector.real import RealCase
from triage.corrector.candidates import nbest_candidates
from triage.corrector.config import NBestWeights
from triage.corrector.pipeline import CorrectionPipeline
from triage.corrector.rerank import nbest_features
from triage.metrics import cer

FEATURES = [name for name in NBestWeights.model_fields if name != "bias"]
"""Feature order of the design matrix: the weights' fields."""

L2_C = 10.0
"""Inverse L2 strength (scikit-learn's ``C``): ~200 examples for five weights, a light hold.
Not tuned: in a dev experiment (each C with its best threshold) C = 1 and C = 1000 changed the
dev speakers' CER by -7.5 % and -9.6 %, C = 10 by -9.2 %."""


def nbest_examples(pipeline: CorrectionPipeline, cases: list[RealCase]) -> tuple[np.ndarray, np.ndarray]:
    """Features of every scored alternative of ``cases`` (rows in :data:`FEATURES` order) and
    whether it makes its clip better (1) or worse (0)."""
    cfg, scorer = pipeline.cfg, pipeline.scorer
    rows: list[list[float]] = []
    labels: list[int] = []
    for case in cases:
        texts = [item.segment.text.strip() for item in case.items]
        before = cer(case.reference, case.whisper, spoken=True)
        for k, item in enumerate(case.items):
            text = item.segment.text
            alternatives = [
                c
                for c in nbest_candidates(text, item.segment.nbest, cfg.nbest_max_length_change)
                if c.asr_gain is not None
            ]
            if not alternatives:
                continue
            kiwi = scorer.kiwi_scores([text] + [c.text for c in alternatives])
            n_chars = len(text.replace(" ", ""))
            for cand, cand_kiwi in zip(alternatives, kiwi[1:], strict=True):
                joined = " ".join(t for t in texts[:k] + [cand.text.strip()] + texts[k + 1 :] if t)
                after = cer(case.reference, joined, spoken=True)
                if after == before:
                    continue
                features = nbest_features(text, cand, kiwi[0], cand_kiwi, n_chars)
                rows.append([features[name] for name in FEATURES])
                labels.append(int(after < before))
    return np.array(rows, dtype=float).reshape(-1, len(FEATURES)), np.array(labels, dtype=float)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, c: float = L2_C, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and bias minimising ``c * log-loss + |w|^2 / 2`` (the bias unpenalised), by Newton's method.

    scikit-learn's objective, written out: it is not a dependency of the serving image, and
    five weights need no more than this.
    """
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.eye(design.shape[1]) / c
    penalty[-1, -1] = 0.0
    theta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) + penalty @ theta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(theta)), gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def fit_nbest_weights(pipeline: CorrectionPipeline, cases: list[RealCase]) -> NBestWeights:
    """:class:`NBestWeights` fitted on ``cases`` (the train speakers'); the defaults if they hold
    no alternative that changes a clip's CER both ways."""
    x, y = nbest_examples(pipeline, cases)
    if len(set(y.tolist())) < 2:
        return NBestWeights()
    weights, bias = fit_logistic(x, y)
    fitted = NBestWeights(**{name: round(float(w), 4) for name, w in zip(FEATURES, weights, strict=True)})
    return fitted.model_copy(update={"bias": round(bias, 4)})
