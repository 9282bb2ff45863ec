"""Fit the fusion model on cases neither classifier trained on, pick its threshold, report it.

The cases (:mod:`training.fusion.cases`) are real everyday speech of the corpus dev
speakers and calls built from ``test.tsv`` sentences over the sound model's held-out clips,
cut into a fitting part and a report part that share no speaker, sentence or clip.

- A logistic regression over both models' log-probabilities is fitted on the fitting part.
- Its threshold is chosen on the fitting part's out-of-fold probabilities (folds never split
  a speaker or a sentence): the one (>= 0.5, where the fusion itself finds an emergency at
  least as likely as not) that maximises recall minus the false-alarm rates, everyday
  speech counted :data:`EVERYDAY_FALSE_ALARM_COST` times. A hard cap on everyday false
  alarms was tried first: a few everyday sentences the text model is confidently wrong
  about pushed it to 0.99999 and recall below 0.15, a system that calls for help too late.
- The report part compares, at each method's own decision rule, the fusion with the text
  model alone, the sound model alone, the fixed weighted average and the keyword rule.

    python -m training.fusion.train [--profile test|default] [--force] [--seed N]
"""

from __future__ import annotations

from pathlib import Path

import bentoml
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict

from harness.baselines import NORMAL, keyword_category
from training.common import expected_calibration_error, training_parser
from training.fusion.cases import CALL_CASES, Case, call_cases, everyday_cases
from triage.audio_classifier import MODEL_NAME as AUDIO_MODEL
from triage.audio_classifier.model import AudioClassifierModel
from triage.fusion import MODEL_NAME
from triage.fusion.model import LogisticFusion, feature_vector, weighted_average
from triage.model_store import get_model, has_model
from triage.text_classifier.model import TextClassifierModel

EVERYDAY_FALSE_ALARM_COST = 2.0
"""How many missed emergencies' worth one false alarm on everyday speech costs, per rate."""
FOLDS = 5


def choose_threshold(probability: np.ndarray, truth: np.ndarray, everyday: np.ndarray) -> float:
    """The threshold (>= 0.5) maximising recall - cost x everyday false alarms - other false alarms."""
    positive, calm, other = truth == 1, everyday & (truth == 0), ~everyday & (truth == 0)

    def gain(t: float) -> float:
        flagged = probability >= t
        rate = [float(flagged[mask].mean()) if mask.any() else 0.0 for mask in (positive, calm, other)]
        return rate[0] - EVERYDAY_FALSE_ALARM_COST * rate[1] - rate[2]

    candidates = [0.5] + sorted(float(p) for p in np.unique(probability) if p > 0.5)
    return round(max(candidates, key=lambda t: (gain(t), -t)), 6)


def method_scores(
    decided: np.ndarray, truth: np.ndarray, kinds: np.ndarray, probability: np.ndarray | None = None
) -> dict[str, float]:
    """False alarms on everyday speech and on all normal cases, recall, accuracy; Brier and ECE if scored.

    A figure that cannot be computed (no such case, no probability) is left out: model metadata
    holds no ``None``.
    """
    normal = truth == 0
    out = {
        name: round(float(decided[mask].mean()), 4)
        for name, mask in (
            ("everyday_false_alarms", kinds == "everyday"),
            ("normal_false_alarms", normal),
            ("emergency_recall", ~normal),
        )
        if mask.any()
    }
    out["accuracy"] = round(float((decided == truth).mean()), 4)
    if probability is not None:
        out["brier"] = round(float(np.mean((probability - truth) ** 2)), 4)
        out["ece"] = round(expected_calibration_error(probability, truth), 4)
    return out


def compare(fusion: LogisticFusion, cases: list[Case], features: np.ndarray) -> dict[str, dict]:
    """Every method on the same cases, each at its own decision rule."""
    truth = np.array([c.emergency for c in cases], dtype=float)
    kinds = np.array([c.kind for c in cases])
    fused = fusion.probability(features)
    text_p = np.array([c.text_prediction.emergency_probability for c in cases])
    audio_p = np.array([c.audio.distress_probability for c in cases])
    average = np.array([weighted_average(c.text_prediction, c.audio) for c in cases])
    keyword = np.array([keyword_category(c.text) != NORMAL for c in cases])
    return {
        "fusion": method_scores(fused >= fusion.threshold, truth, kinds, fused),
        "fusion at 0.5": method_scores(fused >= 0.5, truth, kinds, fused),
        "text alone": method_scores(
            np.array([c.text_prediction.is_emergency for c in cases]), truth, kinds, text_p
        ),
        "sound alone": method_scores(audio_p >= 0.5, truth, kinds, audio_p),
        "weighted average": method_scores(average >= 0.5, truth, kinds, average),
        "keyword rule": method_scores(keyword, truth, kinds),
    }


def print_report(metrics: dict) -> None:
    print(
        f"\nreport part: {metrics['report_cases']} cases ({metrics['report_everyday']} everyday speech of "
        f"dev speakers {', '.join(metrics['report_speakers'])}), none shared with the "
        f"{metrics['fit_cases']} fitting cases; threshold {metrics['threshold']}"
    )
    header = ("everyday FA", "normal FA", "recall", "accuracy", "brier", "ece")
    print(f"{'method':<18}" + "".join(f"{h:>12}" for h in header))
    for name, m in metrics["report"].items():
        keys = (
            "everyday_false_alarms",
            "normal_false_alarms",
            "emergency_recall",
            "accuracy",
            "brier",
            "ece",
        )
        values = [m.get(k) for k in keys]
        print(f"{name:<18}" + "".join(f"{'-' if v is None else f'{v:.3f}':>12}" for v in values))


def train(profile: str, seed: int, force: bool) -> dict | None:
    if has_model(MODEL_NAME) and not force:
        print(f"{MODEL_NAME} is already in the model store; use --force to train again.")
        return None
    rng = np.random.default_rng(seed)
    text_model = TextClassifierModel.from_store()
    audio_model = AudioClassifierModel.from_store(get_model(AUDIO_MODEL))
    every_fit, every_report = everyday_cases(rng, text_model, audio_model)
    call_fit, call_report = call_cases(rng, text_model, audio_model, CALL_CASES[profile])
    fit, report = every_fit + call_fit, every_report + call_report
    text_labels, audio_labels = list(text_model.categories), list(audio_model.labels)

    def features(cases: list[Case]) -> np.ndarray:
        return np.stack(
            [feature_vector(c.text_prediction, c.audio, text_labels, audio_labels) for c in cases]
        )

    x, y = features(fit), np.array([c.emergency for c in fit], dtype=float)
    groups = [c.group for c in fit]
    regression = LogisticRegression(C=1.0, max_iter=1000)
    out_of_fold = cross_val_predict(
        regression, x, y, groups=groups, cv=GroupKFold(FOLDS), method="predict_proba"
    )[:, 1]
    threshold = choose_threshold(out_of_fold, y, np.array([c.kind == "everyday" for c in fit]))
    regression.fit(x, y)
    fusion = LogisticFusion(
        text_labels=text_labels,
        audio_labels=audio_labels,
        weights=[round(float(w), 6) for w in regression.coef_[0]],
        bias=round(float(regression.intercept_[0]), 6),
        threshold=threshold,
    )
    metrics = {
        "fit_cases": len(fit),
        "fit_everyday": len(every_fit),
        "report_cases": len(report),
        "report_everyday": len(every_report),
        "report_speakers": sorted({c.group.removeprefix("speaker:") for c in every_report}),
        "threshold": threshold,
        "everyday_false_alarm_cost": EVERYDAY_FALSE_ALARM_COST,
        "report": compare(fusion, report, features(report)),
    }
    print_report(metrics)
    with bentoml.models.create(
        MODEL_NAME, labels={"profile": profile, "task": "fusion"}, metadata={"seed": seed, "metrics": metrics}
    ) as model:
        fusion.save(Path(model.path))
    print(f"Saved {model.tag}.")
    return metrics


def main(argv: list[str] | None = None) -> None:
    args = training_parser(__doc__, CALL_CASES).parse_args(argv)
    train(args.profile, args.seed, args.force)


if __name__ == "__main__":
    main()
