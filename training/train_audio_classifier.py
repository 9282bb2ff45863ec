"""Train the audio classifier (small ResNet on log-mel) and save it to the BentoML model store.

    python -m training.train_audio_classifier --profile default   # the served model, minutes on 2 cores
    python -m training.train_audio_classifier --profile test      # tiny, for the test suite (< 2 min)

The data is generated in memory by :mod:`training.audio_data` (real clips from
``../shared/audio`` read in place, espeak-ng speech, procedural sounds; nothing is written
to the repo). Every waveform becomes network input through :mod:`triage.sound.features`
with the parameters saved in the model's metadata, and the held-out and real-clip figures
are computed with :func:`triage.sound.model.predict_clips`, the function the runner calls.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import bentoml
import numpy as np
import torch
from sklearn.metrics import confusion_matrix
from torch import nn
from tqdm import tqdm

from training.audio_data import HELDOUT_REAL, LABELS, DataConfig, build_dataset
from triage.model_store import has_model
from triage.sound.features import FeatureParams, clip_features
from triage.sound.model import AudioResNet, predict_clips

MODEL_NAME = "audio-classifier"
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
    "test": Profile(DataConfig(per_class_train=120, per_class_heldout=40, utterances=24), epochs=5),
    "default": Profile(DataConfig(per_class_train=800, per_class_heldout=200, utterances=160), epochs=15),
}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
    device = "cuda" if torch.cuda.is_available() else "cpu"
    params = FeatureParams()
    started = time.perf_counter()

    cfg = profile.data
    total = len(LABELS) * (cfg.per_class_train + cfg.per_class_heldout)
    with tqdm(total=total, desc="generate clips", unit="clip") as bar:
        train_split, held, real = build_dataset(cfg, seed, bar.update)
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
    train_s = time.perf_counter() - started - data_s

    model.eval()
    held_probs, _ = predict_clips(model, held.waves, params, device)
    real_probs, real_windows = predict_clips(model, [c.wave for c in real], params, device)
    real_labels = [LABELS.index(c.label) for c in real]
    is_held = [c.name in HELDOUT_REAL for c in real]
    real_pred = real_probs.argmax(1)
    metrics = {
        "heldout_accuracy": accuracy(held_probs, held.labels),
        "heldout_size": len(held.labels),
        "heldout_confusion": confusion_matrix(
            held.labels, held_probs.argmax(1), labels=list(range(len(LABELS)))
        ).tolist(),
        "real_accuracy": accuracy(real_probs, real_labels),
        "real_heldout_accuracy": accuracy(
            real_probs[np.asarray(is_held)], [y for y, h in zip(real_labels, is_held, strict=True) if h]
        ),
        "real_confusion": confusion_matrix(real_labels, real_pred, labels=list(range(len(LABELS)))).tolist(),
        "real_predictions": {
            c.name: {"label": c.label, "predicted": LABELS[int(p)], "heldout": h}
            for c, p, h in zip(real, real_pred, is_held, strict=True)
        },
        "train_size": len(y_train),
        "epochs": epochs,
        "data_seconds": round(data_s, 1),
        "train_seconds": round(train_s, 1),
        "device": device,
    }
    _save(model, params, profile, profile_name, seed, metrics)
    _print_report(metrics)
    return metrics


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
    print(f"held-out accuracy {m['heldout_accuracy']:.3f} on {m['heldout_size']} clips")
    print("held-out confusion (rows true, cols predicted):", " ".join(LABELS))
    for lab, row in zip(LABELS, m["heldout_confusion"], strict=True):
        print(f"  {lab:>8} {row}")
    print(f"real clips: accuracy {m['real_accuracy']:.3f} (held-out real {m['real_heldout_accuracy']:.3f})")
    for name, r in m["real_predictions"].items():
        mark = "ok " if r["label"] == r["predicted"] else "BAD"
        print(
            f"  {mark} {name:45} {r['label']:>8} -> {r['predicted']:<8} {'held-out' if r['heldout'] else ''}"
        )
    print(f"data {m['data_seconds']} s, training {m['train_seconds']} s on {m['device']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--force", action="store_true", help="rebuild even if the model is in the store")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epoch count")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (1 is ~3x faster than 2 on a shared two-core machine)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train(args.profile, args.seed, args.force, args.epochs)


if __name__ == "__main__":
    main()
