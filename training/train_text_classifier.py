"""Train the Korean text classifier (BERT encoder + classification head) into the model store.

    python -m training.train_text_classifier --profile default   # the served model, minutes on 2 cores
    python -m training.train_text_classifier --profile test      # tiny, for the test suite (< 2 min)
    python -m training.train_text_classifier --pretrained /path/to/kobert   # fine-tune a local checkpoint
    python -m training.train_text_classifier --extra-data my.csv            # add a user's (text,label) data

Without ``--pretrained`` (no KoBERT weights are reachable offline) it learns a byte-level
BPE tokenizer from our sentences, builds a small BERT, pre-trains it briefly with masked
language modelling on all training-side Korean text (never the held-out split or the speech
manifest transcripts), then fine-tunes it on augmented data (KorEDA + ASR noise). The
temperature for calibrated probabilities is fitted on a validation split cut from the
training sentences *before* augmentation and noised like Whisper output. The figures
(held-out accuracy / macro-F1, emergency-vs-normal accuracy on the manifest transcripts)
are measured through :class:`triage.text.model.TextClassifierModel`, the serving code path,
and stored in the model's metadata.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bentoml
import numpy as np
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from tqdm import tqdm
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    DataCollatorForLanguageModeling,
    get_linear_schedule_with_warmup,
)

from triage.model_store import has_model
from triage.text.asr_noise import asr_noise
from triage.text.augment import augment
from triage.text.data import (
    SPEECH_MANIFEST,
    TEST_TSV,
    TRAIN_TSV,
    Example,
    load_examples,
    load_manifest_transcripts,
)
from triage.text.labels import NORMAL_LABEL, order_labels
from triage.text.model import CLASSIFIER_JSON, MODEL_NAME, TextClassifierModel, pick_device
from triage.text.tokenizer import train_tokenizer


@dataclass(frozen=True)
class Profile:
    """Data size, network size and schedule of one training profile."""

    per_class: int | None  # training sentences per label (None: all)
    copies: int  # augmented copies per training sentence
    vocab_size: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    mlm_epochs: int
    epochs: int
    max_length: int = 64
    batch_size: int = 32
    lr: float = 1e-3
    mlm_lr: float = 1e-3
    dropout: float = 0.1
    val_fraction: float = 0.1


PROFILES = {
    "test": Profile(per_class=150, copies=2, vocab_size=2000, hidden=128, layers=2, heads=2,
                    intermediate=256, mlm_epochs=1, epochs=4),
    "default": Profile(per_class=None, copies=3, vocab_size=3000, hidden=256, layers=4, heads=4,
                       intermediate=512, mlm_epochs=2, epochs=4),
}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def split_data(
    examples: list[Example], profile: Profile, rng: random.Random
) -> tuple[list[Example], list[Example]]:
    """Per-label subsample to ``per_class`` and cut a validation split before any augmentation."""
    by_label: dict[str, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    train, val = [], []
    for label in sorted(by_label):
        items = list(by_label[label])
        rng.shuffle(items)
        if profile.per_class is not None:
            items = items[: profile.per_class]
        n_val = max(2, int(len(items) * profile.val_fraction))
        val += items[:n_val]
        train += items[n_val:]
    return train, val


def augment_examples(examples: list[Example], copies: int, rng: random.Random) -> list[Example]:
    """Originals plus ``copies`` KorEDA/ASR-noise variants of each (same count for every label)."""
    out = list(examples)
    for ex in tqdm(examples, desc="augment", leave=False):
        out += [Example(v, ex.label) for v in augment(ex.text, rng, copies)]
    rng.shuffle(out)
    return out


def batches(n: int, size: int, gen: torch.Generator, shuffle: bool = True):
    order = torch.randperm(n, generator=gen).tolist() if shuffle else list(range(n))
    for i in range(0, n, size):
        yield order[i : i + size]


def pretrain_mlm(
    tokenizer, texts: list[str], profile: Profile, device: str, gen: torch.Generator
) -> BertForMaskedLM:
    """A small BERT pre-trained briefly with masked language modelling on ``texts``."""
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=profile.hidden,
        num_hidden_layers=profile.layers,
        num_attention_heads=profile.heads,
        intermediate_size=profile.intermediate,
        max_position_embeddings=max(128, profile.max_length),
        hidden_dropout_prob=profile.dropout,
        attention_probs_dropout_prob=profile.dropout,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(config).to(device)
    if profile.mlm_epochs <= 0:
        return model
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    encoded = tokenizer(texts, truncation=True, max_length=profile.max_length)["input_ids"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=profile.mlm_lr, weight_decay=0.01)
    steps = profile.mlm_epochs * ((len(encoded) + profile.batch_size - 1) // profile.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    model.train()
    bar = tqdm(total=steps, desc="mlm pre-training")
    for _ in range(profile.mlm_epochs):
        for idx in batches(len(encoded), profile.batch_size, gen):
            batch = collator([{"input_ids": encoded[i]} for i in idx])
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model


def build_classifier(
    tokenizer, mlm: BertForMaskedLM | None, labels: list[str], profile: Profile, pretrained: str | None
) -> BertForSequenceClassification:
    """A sequence classifier: from the local checkpoint, or on top of the MLM-pre-trained encoder."""
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    if pretrained:
        return BertForSequenceClassification.from_pretrained(
            pretrained, num_labels=len(labels), id2label=id2label, label2id=label2id,
            ignore_mismatched_sizes=True,
        )
    assert mlm is not None
    config = BertConfig(**{**mlm.config.to_dict(), "num_labels": len(labels), "id2label": id2label,
                           "label2id": label2id, "architectures": ["BertForSequenceClassification"]})
    model = BertForSequenceClassification(config)
    missing, _ = model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    assert all(name.startswith("pooler") for name in missing), missing
    return model


def fine_tune(
    model: BertForSequenceClassification, tokenizer, data: list[Example], label2id: dict[str, int],
    profile: Profile, device: str, gen: torch.Generator, lr: float,
) -> None:
    model.to(device).train()
    texts = [ex.text for ex in data]
    targets = torch.tensor([label2id[ex.label] for ex in data])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = profile.epochs * ((len(texts) + profile.batch_size - 1) // profile.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    bar = tqdm(total=steps, desc="fine-tuning")
    for _ in range(profile.epochs):
        for idx in batches(len(texts), profile.batch_size, gen):
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=profile.max_length, return_tensors="pt").to(device)
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        labels=targets[idx].to(device))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            bar.update(1)
            bar.set_postfix(loss=f"{out.loss.item():.3f}")
    bar.close()
    model.eval()


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Temperature minimising validation NLL (Guo et al. 2017), bounded to [0.05, 20]."""
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().clamp(0.05, 20.0))


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    ece = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        mask = (conf > lo) & (conf <= lo + 1 / bins)
        if mask.any():
            ece += mask.mean() * abs((pred[mask] == targets[mask]).mean() - conf[mask].mean())
    return float(ece)


def evaluate(model: TextClassifierModel, heldout: list[Example]) -> dict:
    """Held-out accuracy / macro-F1 and manifest emergency-vs-normal accuracy via the serving class."""
    metrics: dict = {}
    if heldout:
        preds = model.classify([ex.text for ex in heldout])
        y_true = [ex.label for ex in heldout]
        y_pred = [p.label for p in preds]
        metrics["heldout_n"] = len(heldout)
        metrics["heldout_accuracy"] = round(float(accuracy_score(y_true, y_pred)), 4)
        metrics["heldout_macro_f1"] = round(float(f1_score(y_true, y_pred, average="macro")), 4)
        hits = [(t != NORMAL_LABEL) == p.is_emergency for t, p in zip(y_true, preds, strict=True)]
        metrics["heldout_emergency_accuracy"] = round(float(np.mean(hits)), 4)
        metrics["heldout_confusion"] = {
            "labels": model.labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=model.labels).tolist(),
        }
    if SPEECH_MANIFEST.exists():
        pairs = load_manifest_transcripts(SPEECH_MANIFEST)
        preds = model.classify([text for text, _ in pairs])
        metrics["manifest_n"] = len(pairs)
        metrics["manifest_emergency_accuracy"] = round(
            float(np.mean([p.is_emergency == is_em for (_, is_em), p in zip(pairs, preds, strict=True)])), 4
        )
    return metrics


def train(
    profile_name: str = "default", seed: int = 13, force: bool = False, pretrained: str | None = None,
    extra_data: list[str] | None = None, epochs: int | None = None, threads: int | None = 1,
) -> dict | None:
    """Train, evaluate and store ``text-classifier``; returns its metadata (None when skipped)."""
    if not force and has_model(MODEL_NAME):
        print(f"{MODEL_NAME} is already in the model store; use --force to rebuild.")
        return None
    profile = PROFILES[profile_name]
    if epochs is not None:
        profile = Profile(**{**asdict(profile), "epochs": epochs})
    seed_everything(seed)
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    device = pick_device()
    if threads:
        torch.set_num_threads(threads)  # one thread trains fastest on a shared 2-core machine
    started = time.perf_counter()

    examples = load_examples(TRAIN_TSV)
    for path in extra_data or []:
        examples += load_examples(path)
    heldout = load_examples(TEST_TSV) if TEST_TSV.exists() else []
    labels = order_labels({ex.label for ex in examples})
    if NORMAL_LABEL not in labels:
        raise SystemExit(f"the training data needs a '{NORMAL_LABEL}' label (got {labels})")
    label2id = {label: i for i, label in enumerate(labels)}
    heldout = [ex for ex in heldout if ex.label in label2id]

    train_base, val_base = split_data(examples, profile, rng)
    train_data = augment_examples(train_base, profile.copies, rng)
    # validation looks like Whisper output: half clean, half noised (calibration for real input)
    val_data = val_base + [Example(asr_noise(ex.text, rng), ex.label) for ex in val_base]
    print(f"labels {labels}; train {len(train_base)} sentences -> {len(train_data)} with augmentation; "
          f"validation {len(val_data)}; held-out {len(heldout)}; device {device}")

    if pretrained:
        tokenizer = AutoTokenizer.from_pretrained(pretrained)
        tokenizer.model_max_length = profile.max_length
        mlm = None
    else:
        corpus = [ex.text for ex in train_data]
        tokenizer = train_tokenizer(corpus, profile.vocab_size, profile.max_length)
        mlm = pretrain_mlm(tokenizer, corpus, profile, device, gen)
    model = build_classifier(tokenizer, mlm, labels, profile, pretrained)
    fine_tune(model, tokenizer, train_data, label2id, profile, device, gen,
              lr=3e-5 if pretrained else profile.lr)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        model.save_pretrained(out / "model")
        tokenizer.save_pretrained(out / "tokenizer")
        info = {"labels": labels, "normal_label": NORMAL_LABEL, "temperature": 1.0,
                "max_length": profile.max_length, "emergency_threshold": 0.5}
        (out / CLASSIFIER_JSON).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        served = TextClassifierModel(out, device=device)
        val_logits, _ = served.logits([ex.text for ex in val_data])
        val_targets = torch.tensor([label2id[ex.label] for ex in val_data])
        info["temperature"] = fit_temperature(val_logits, val_targets)
        served.temperature = info["temperature"]
        (out / CLASSIFIER_JSON).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        val_probs = torch.softmax(val_logits / info["temperature"], dim=-1).numpy()
        metrics = evaluate(served, heldout)
        metrics["val_accuracy"] = round(float((val_probs.argmax(1) == val_targets.numpy()).mean()), 4)
        metrics["val_ece_calibrated"] = round(expected_calibration_error(val_probs, val_targets.numpy()), 4)
        metrics["val_ece_uncalibrated"] = round(
            expected_calibration_error(torch.softmax(val_logits, -1).numpy(), val_targets.numpy()), 4)
        metrics["train_seconds"] = round(time.perf_counter() - started, 1)
        summary = {k: v for k, v in metrics.items() if k != "heldout_confusion"}
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        metadata = {
            "labels": labels,
            "normal_label": NORMAL_LABEL,
            "temperature": round(info["temperature"], 4),
            "max_length": profile.max_length,
            "emergency_threshold": info["emergency_threshold"],
            "profile": profile_name,
            "seed": seed,
            "pretrained": pretrained or "",
            "config": {k: ("all" if v is None else v) for k, v in asdict(profile).items()},
            "train_sentences": len(train_base),
            "train_examples": len(train_data),
            "metrics": metrics,
        }
        with bentoml.models.create(
            MODEL_NAME, labels={"task": "text-classification", "profile": profile_name}, metadata=metadata
        ) as stored:
            for item in out.iterdir():
                target = Path(stored.path) / item.name
                if item.is_dir():
                    shutil.copytree(item, target)
                else:
                    shutil.copy2(item, target)
    print(f"saved {stored.tag}")
    print("held-out confusion (rows true, cols predicted):", metrics.get("heldout_confusion"))
    return metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--force", action="store_true", help="rebuild even if the model is stored")
    parser.add_argument("--pretrained", help="local KoBERT-like checkpoint folder to fine-tune")
    parser.add_argument("--extra-data", action="append", help="user CSV/JSONL/TSV (text,label), repeatable")
    parser.add_argument("--epochs", type=int, help="override the profile's fine-tuning epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    train(args.profile, args.seed, args.force, args.pretrained, args.extra_data, args.epochs, args.threads)


if __name__ == "__main__":
    main()
