"""Train the audio classifier (small ResNet on log-mel) and save it to the BentoML model store.

    python -m training.audio_classifier.train --profile default   # the served model, minutes on 2 cores
    python -m training.audio_classifier.train --profile test      # tiny, for the test suite (< 2 min)

The data is generated in memory by :mod:`training.audio_classifier.dataset` (real sounds and
corpus speech from ``../shared/audio`` read in place, espeak-ng speech, procedural sounds;
nothing is written to the repo). Every waveform becomes network input through
:mod:`triage.audio_classifier.features` with the parameters saved in the model's metadata,
and every figure is computed with :func:`triage.audio_classifier.model.predict_clips`, the
function the runner calls. Nothing is selected on any figure: the schedule is fixed, so the
held-out set and the labelled clips are both measurements. They are reported apart: the
held-out set (mixed clips, the held-out real sounds alone, the dev speakers' speech alone)
and the labelled development clips, which no model may train or be tuned on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import bentoml
import numpy as np
import torch
from sklearn.metrics import confusion_matrix
from torch import nn
from tqdm import tqdm

from training.audio_classifier.dataset import LABELS, DataConfig, build_dataset
from training.audio_classifier.real_clips import (
    HELDOUT_SOUNDS,
    RealClip,
    load_corpus_speech,
    load_labelled_clips,
    load_sound_clips,
)
from training.common import seed_everything, training_parser
from triage.audio_classifier import MODEL_NAME
from triage.audio_classifier.features import FeatureParams, clip_features
from triage.audio_classifier.model import AudioResNet, predict_clips
from triage.device import pick_device, set_torch_threads
from triage.model_store import has_model

WEIGHTS_FILE = "model.pt"


@dataclass(frozen=True)
class Profile:
    """Data size, network size and schedule of one training profile."""

    data: DataConfig
    epochs: int
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    batch_size: int = 32
    lr: float = 3e-3


PROFILES = {
    "test": Profile(DataConfig(per_class_train=200, per_class_heldout=40, utterances=24), epochs=6),
    "default": Profile(DataConfig(per_class_train=800, per_class_heldout=200, utterances=160), epochs=15),
}


def spec_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One random time mask and one frequency mask per example (SpecAugment), in place on a copy."""
    x = x.clone()
    b, _, n_mels, n_frames = x.shape
    for i in range(b):
        f = int(torch.randint(0, n_mels // 8 + 1, (1,), generator=gen))
        f0 = int(torch.randint(0, n_mels - f + 1, (1,), generator=gen))
        t = int(torch.randint(0, n_frames // 8 + 1, (1,), generator=gen))
        t0 = int(torch.randint(0, n_frames - t + 1, (1,), generator=gen))
        x[i, :, f0 : f0 + f, :] = 0.0
        x[i, :, :, t0 : t0 + t] = 0.0
    return x


def accuracy(probs: np.ndarray, labels: list[int]) -> float:
    return float((probs.argmax(axis=1) == np.asarray(labels)).mean()) if labels else float("nan")


def train(profile_name: str, seed: int, force: bool, epochs: int | None = None) -> dict | None:
    """Build, train, evaluate and save; returns the metrics (None when skipped)."""
    if not force and has_model(MODEL_NAME):
        print(f"'{MODEL_NAME}' is already in the model store; use --force to rebuild.")
        return None
    profile = PROFILES[profile_name]
    epochs = epochs or profile.epochs
    seed_everything(seed)
    device = pick_device()
    params = FeatureParams()
    started = time.perf_counter()

    cfg = profile.data
    total = len(LABELS) * (cfg.per_class_train + cfg.per_class_heldout)
    with tqdm(total=total, desc="generate clips", unit="clip") as bar:
        train_split, held = build_dataset(cfg, seed, bar.update)
    feats = [clip_features(w, params) for w in tqdm(train_split.waves, desc="log-mel", unit="clip")]
    assert all(f.shape[0] == 1 for f in feats), "training clips must fit one window"
    x_train = torch.from_numpy(np.concatenate(feats))
    y_train = torch.tensor(train_split.labels)
    data_s = time.perf_counter() - started

    model = AudioResNet(len(LABELS), profile.widths, profile.blocks).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=profile.lr, weight_decay=1e-3)
    steps = epochs * ((len(y_train) + profile.batch_size - 1) // profile.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=profile.lr, total_steps=steps, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(y_train), generator=gen)
        bar = tqdm(range(0, len(order), profile.batch_size), desc=f"epoch {epoch + 1}/{epochs}", unit="batch")
        seen = correct = 0
        for i in bar:
            idx = order[i : i + profile.batch_size]
            xb = spec_augment(x_train[idx], gen).to(device)
            yb = y_train[idx].to(device)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{correct / seen:.3f}")

    model.eval()
    held_probs, _ = predict_clips(model, held.waves, params, device)
    metrics = {
        "heldout_accuracy": accuracy(held_probs, held.labels),
        "heldout_size": len(held.labels),
        "heldout_confusion": confusion_matrix(
            held.labels, held_probs.argmax(1), labels=list(range(len(LABELS)))
        ).tolist(),
        **evaluate_real(model, params, device),
        "train_size": len(y_train),
        "epochs": epochs,
        "data_seconds": round(data_s, 1),
        "train_seconds": round(time.perf_counter() - started - data_s, 1),
        "device": device,
    }
    _save(model, params, profile, profile_name, seed, metrics)
    _print_report(metrics)
    return metrics


def evaluate_real(model: nn.Module, params: FeatureParams, device: str) -> dict:
    """Figures on real recordings no training read, each clip whole as the runner hears it.

    ``unseen_real_*``: the held-out real sounds and the labelled development clips together
    (every real clip with a class that training never read); ``labelled_accuracy`` and
    ``heldout_sounds_accuracy`` split it; ``dev_speech_calm_rate`` is the share of the corpus
    dev speakers' clips (everyday speech, unmixed) heard as calm.
    """
    sounds = [c for c in load_sound_clips() if c.name in HELDOUT_SOUNDS]
    labelled = load_labelled_clips()
    unseen: list[tuple[str, RealClip]] = [("held-out sound", c) for c in sounds]
    unseen += [("labelled", c) for c in labelled]
    probs, _ = predict_clips(model, [c.wave for _, c in unseen], params, device)
    predicted = probs.argmax(1)
    correct = np.array([LABELS[int(p)] == c.label for p, (_, c) in zip(predicted, unseen, strict=True)])
    is_labelled = np.array([kind == "labelled" for kind, _ in unseen])
    dev_probs, _ = predict_clips(model, [c.wave for c in load_corpus_speech("dev")], params, device)
    return {
        "unseen_real_accuracy": float(correct.mean()),
        "unseen_real_size": len(unseen),
        "unseen_real_confusion": confusion_matrix(
            [LABELS.index(c.label) for _, c in unseen], predicted, labels=list(range(len(LABELS)))
        ).tolist(),
        "heldout_sounds_accuracy": float(correct[~is_labelled].mean()),
        "labelled_accuracy": float(correct[is_labelled].mean()),
        "dev_speech_calm_rate": float((dev_probs.argmax(1) == LABELS.index("calm")).mean()),
        "dev_speech_size": len(dev_probs),
        "real_predictions": {
            c.name: {"label": c.label, "predicted": LABELS[int(p)], "set": kind}
            for (kind, c), p in zip(unseen, predicted, strict=True)
        },
    }


def _save(
    model: nn.Module, params: FeatureParams, profile: Profile, name: str, seed: int, metrics: dict
) -> None:
    metadata = {
        "labels": list(LABELS),
        "feature_params": params.to_dict(),
        "architecture": {"widths": list(profile.widths), "blocks": list(profile.blocks)},
        "metrics": {k: v for k, v in metrics.items() if k != "real_predictions"},
        "real_predictions": metrics["real_predictions"],
        "profile": name,
        "seed": seed,
        "weights_file": WEIGHTS_FILE,
    }
    with bentoml.models.create(
        MODEL_NAME, labels={"profile": name, "task": "audio-classification"}, metadata=metadata
    ) as ref:
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, Path(ref.path) / WEIGHTS_FILE)
        (Path(ref.path) / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    print(f"saved {ref.tag}")


def _print_report(m: dict) -> None:
    print(f"held-out accuracy {m['heldout_accuracy']:.3f} on {m['heldout_size']} mixed clips")
    print("held-out confusion (rows true, cols predicted):", " ".join(LABELS))
    for lab, row in zip(LABELS, m["heldout_confusion"], strict=True):
        print(f"  {lab:>8} {row}")
    print(
        f"dev speakers' everyday speech heard as calm: {m['dev_speech_calm_rate']:.3f} "
        f"of {m['dev_speech_size']} clips"
    )
    print(
        f"real clips no training read: accuracy {m['unseen_real_accuracy']:.3f} on {m['unseen_real_size']} "
        f"(held-out sounds {m['heldout_sounds_accuracy']:.3f}, labelled clips {m['labelled_accuracy']:.3f})"
    )
    for name, r in m["real_predictions"].items():
        mark = "ok " if r["label"] == r["predicted"] else "BAD"
        print(f"  {mark} {name:45} {r['label']:>8} -> {r['predicted']:<8} {r['set']}")
    print(f"data {m['data_seconds']} s, training {m['train_seconds']} s on {m['device']}")


def main(argv: list[str] | None = None) -> None:
    parser = training_parser(__doc__, PROFILES)
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epoch count")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (1 is ~3x faster than 2 on a shared two-core machine)",
    )
    args = parser.parse_args(argv)
    set_torch_threads(args.threads)
    train(args.profile, args.seed, args.force, args.epochs)


if __name__ == "__main__":
    main()
