"""Train the fusion model on the two classifiers' outputs over held-out (clip, transcript, label) cases.

Neither classifier saw these inputs: transcripts come from the hand-written held-out text
split (``training/data/text/test.tsv``) and clips from the audio classifier's held-out
split (regenerated with the seed and profile stored in its metadata). A case pairs one of
each the way calls happen, and its label is the call's ground truth:

- emergency calls: emergency text, with distress, alarm or impact sound most of the time,
  calm sound sometimes (a caller reporting calmly);
- emergency calls whose words say little (a normal-sounding sentence over an alarm,
  crash or scream): the sound carries the emergency;
- normal calls: normal text over calm sound mostly, sometimes over loud sound (an excited
  but harmless conversation, a TV).

The logistic fusion is fitted on 70 % of the cases and compared with the fixed weighted
average on the other 30 % (accuracy, Brier score, expected calibration error).

    python -m training.train_fusion [--profile test|default] [--force] [--seed N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bentoml
import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from training.audio_data import LABELS as AUDIO_LABELS
from training.audio_data import build_dataset
from training.train_audio_classifier import PROFILES as AUDIO_PROFILES
from triage.fusion.model import MODEL_NAME, LogisticFusion, feature_vector, weighted_average
from triage.model_store import get_model, has_model
from triage.sound.model import AudioClassifierModel
from triage.text.data import TEST_TSV, load_examples
from triage.text.labels import NORMAL_LABEL
from triage.text.model import TextClassifierModel

CASES = {"test": 400, "default": 3000}
SOUND_GIVEN_EMERGENCY = {"distress": 0.5, "alarm": 0.15, "impact": 0.15, "calm": 0.2}
SOUND_GIVEN_NORMAL = {"calm": 0.85, "distress": 0.1, "alarm": 0.025, "impact": 0.025}
WORDLESS_EMERGENCY_SHARE = 0.1


def heldout_audio() -> tuple[list[np.ndarray], list[str]]:
    """The audio classifier's held-out clips, regenerated exactly as its training made them."""
    stored = get_model("audio-classifier")
    profile = stored.info.labels.get("profile", "default")
    seed = int(stored.info.metadata.get("seed", 0))
    _, held, _ = build_dataset(AUDIO_PROFILES[profile].data, seed)
    return held.waves, [AUDIO_LABELS[i] for i in held.labels]


def sample_cases(
    rng: np.random.Generator, text_labels: list[str], audio_labels: list[str], n: int
) -> list[tuple[int, int, int]]:
    """``n`` (text index, clip index, is-emergency) triples following the call scenarios."""
    texts_by = {lab: [i for i, t in enumerate(text_labels) if t == lab] for lab in set(text_labels)}
    emergency_texts = [i for i, t in enumerate(text_labels) if t != NORMAL_LABEL]
    clips_by = {lab: [i for i, a in enumerate(audio_labels) if a == lab] for lab in set(audio_labels)}

    def clip_of(dist: dict[str, float]) -> int:
        sound = rng.choice(list(dist), p=list(dist.values()))
        return int(rng.choice(clips_by[sound]))

    cases = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5 - WORDLESS_EMERGENCY_SHARE:
            cases.append((int(rng.choice(emergency_texts)), clip_of(SOUND_GIVEN_EMERGENCY), 1))
        elif roll < 0.5:
            loud = {"distress": 0.4, "alarm": 0.3, "impact": 0.3}
            cases.append((int(rng.choice(texts_by[NORMAL_LABEL])), clip_of(loud), 1))
        else:
            cases.append((int(rng.choice(texts_by[NORMAL_LABEL])), clip_of(SOUND_GIVEN_NORMAL), 0))
    return cases


def expected_calibration_error(prob: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(prob[mask].mean() - truth[mask].mean())
    return float(error)


def scores(prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return {
        "accuracy": round(float(((prob >= threshold) == truth).mean()), 4),
        "brier": round(float(np.mean((prob - truth) ** 2)), 4),
        "ece": round(expected_calibration_error(prob, truth), 4),
    }


def train(profile: str, seed: int, force: bool) -> dict | None:
    if has_model(MODEL_NAME) and not force:
        print(f"{MODEL_NAME} is already in the model store; use --force to train again.")
        return None
    rng = np.random.default_rng(seed)
    text_model = TextClassifierModel.from_store()
    audio_model = AudioClassifierModel.from_store(get_model("audio-classifier"))
    examples = load_examples(TEST_TSV)
    texts, text_truth = [e.text for e in examples], [e.label for e in examples]
    print(f"Regenerating the audio classifier's held-out clips and scoring {len(texts)} texts ...")
    clips, clip_truth = heldout_audio()
    text_preds = [
        p for i in tqdm(range(0, len(texts), 64), desc="text") for p in text_model.classify(texts[i : i + 64])
    ]
    audio_preds = [
        p
        for i in tqdm(range(0, len(clips), 32), desc="audio")
        for p in audio_model.predict(clips[i : i + 32])
    ]

    cases = sample_cases(rng, text_truth, clip_truth, CASES[profile])
    features = np.stack(
        [
            feature_vector(text_preds[t], audio_preds[a], text_model.labels, audio_model.labels)
            for t, a, _ in cases
        ]
    )
    truth = np.array([y for _, _, y in cases], dtype=np.float64)
    baseline = np.array([weighted_average(text_preds[t], audio_preds[a]) for t, a, _ in cases])
    order = rng.permutation(len(cases))
    cut = int(0.7 * len(cases))
    fit, held = order[:cut], order[cut:]
    regression = LogisticRegression(C=1.0, max_iter=1000).fit(features[fit], truth[fit])
    fusion = LogisticFusion(
        text_labels=list(text_model.labels),
        audio_labels=list(audio_model.labels),
        weights=[round(float(w), 6) for w in regression.coef_[0]],
        bias=round(float(regression.intercept_[0]), 6),
    )
    metrics = {
        "cases": len(cases),
        "heldout_cases": len(held),
        "logistic": scores(fusion.probability(features[held]), truth[held]),
        "weighted_average": scores(baseline[held], truth[held]),
    }
    print(f"{'held-out cases':<18} {'accuracy':>8} {'brier':>7} {'ece':>7}")
    for name in ("logistic", "weighted_average"):
        m = metrics[name]
        print(f"{name:<18} {m['accuracy']:>8.3f} {m['brier']:>7.3f} {m['ece']:>7.3f}")
    with bentoml.models.create(
        MODEL_NAME, labels={"profile": profile, "task": "fusion"}, metadata={"seed": seed, "metrics": metrics}
    ) as model:
        fusion.save(Path(model.path))
    print(f"Saved {model.tag}.")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(CASES), default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    train(args.profile, args.seed, args.force)


if __name__ == "__main__":
    main()
