"""Train the ASR error corrector (BART seq2seq + lexicon + thresholds) into the model store.

    python -m training.corrector.train --profile default    # the served model, minutes on 2 cores
    python -m training.corrector.train --profile test       # tiny, for the test suite (< 2 min)
    python -m training.corrector.train --pretrained /path/to/kobart-base-v2   # fine-tune KoBART
    python -m training.corrector.train --force              # rebuild even if the store has one

Pairs come from our own clean Korean (``training.corrector.corpus``: hand-written sentences,
slot templates with emergency vocabulary, the text classifier's call utterances) corrupted
the way ASR corrupts Korean (``training.asr_noise``); a share of pairs is left clean so
the model learns that most input needs no change. The held-out sentences (a stable hash
split) are never trained on: they give the CER before/after figures, measured through
:class:`~triage.corrector.pipeline.CorrectionPipeline`, the serving code path.

The thresholds (:class:`~triage.corrector.config.CorrectorConfig`) are then picked on real
Whisper output of the corpus dev speakers (:mod:`training.corrector.tune`: no dev clip may
get worse) and stored in the model's metadata with the dev and held-out figures. The train
speakers' real Whisper output teaches how to weigh Whisper's own alternatives
(:mod:`training.corrector.nbest_fit`, by CER read aloud); the seq2seq model is not trained on
those pairs: much of what separates Whisper's output from the corpus references is the
references' convention (numbers and Latin letters spelled in Hangul: 8시 -> 여덟시), which the
model would learn instead of Whisper's errors.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bentoml
import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoTokenizer, BartForConditionalGeneration, get_linear_schedule_with_warmup

from training.common import seed_everything, training_parser
from training.corrector.corpus import load_corpus
from training.corrector.lexicon_sources import corpus_words, read_hunspell
from training.corrector.nbest_fit import fit_nbest_weights
from training.corrector.pairs import held_out_pairs, make_pairs
from training.corrector.real import real_cases
from training.corrector.seq2seq import build_char_tokenizer, build_model
from training.corrector.tune import describe, tune
from triage.config import get_settings
from triage.corrector import MODEL_NAME
from triage.corrector.config import CorrectorConfig
from triage.corrector.guard import edit_rate
from triage.corrector.lexicon import Lexicon
from triage.corrector.pipeline import LEXICON_FILE, CorrectionPipeline
from triage.corrector.rewrite import Seq2Seq
from triage.device import pick_device, set_torch_threads
from triage.metrics import cer
from triage.model_store import has_model


@dataclass(frozen=True)
class Profile:
    """Data, network and schedule of one training profile."""

    max_sentences: int | None
    n_templates: int
    copies: int
    d_model: int
    layers: int
    heads: int
    ffn: int
    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    max_positions: int = 192
    eval_pairs: int | None = None
    max_train_seconds: float = 0.0
    """Wall-clock cap on training (0: none); keeps a profile within its budget on a loaded machine."""
    tune_passes: int = 2
    """Rounds of the threshold search on the dev speakers (:mod:`training.corrector.tune`)."""


PROFILES = {
    "test": Profile(
        max_sentences=1200,
        n_templates=1000,
        copies=2,
        d_model=64,
        layers=1,
        heads=2,
        ffn=128,
        epochs=2,
        lr=3e-3,
        eval_pairs=60,
        max_train_seconds=60,
        tune_passes=1,
    ),
    "default": Profile(
        max_sentences=None,
        n_templates=3000,
        copies=3,
        d_model=192,
        layers=2,
        heads=4,
        ffn=512,
        epochs=4,
        batch_size=48,
        lr=1.5e-3,
        max_train_seconds=720,
    ),
}


def train_seq2seq(model, tokenizer, pairs: list[tuple[str, str]], profile: Profile, device: str, seed: int):
    """Teacher-forced cross-entropy on (noisy, clean) pairs, AdamW with linear warm-up and decay."""
    model.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = (len(pairs) + profile.batch_size - 1) // profile.batch_size
    total = steps_per_epoch * profile.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=profile.lr, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, max(1, total // 20), total)
    bar = tqdm(total=total, desc="train corrector")
    losses: list[float] = []
    t0 = time.time()
    for _ in range(profile.epochs):
        if profile.max_train_seconds and time.time() - t0 > profile.max_train_seconds:
            break
        order = torch.randperm(len(pairs), generator=gen).tolist()
        for k in range(0, len(order), profile.batch_size):
            if profile.max_train_seconds and time.time() - t0 > profile.max_train_seconds:
                print(f"time cap of {profile.max_train_seconds:.0f} s reached after {bar.n} of {total} steps")
                break
            batch = [pairs[i] for i in order[k : k + profile.batch_size]]
            enc = tokenizer(
                [b[0] for b in batch],
                padding=True,
                truncation=True,
                max_length=profile.max_positions,
                return_tensors="pt",
            )
            lab = tokenizer(
                [b[1] for b in batch],
                padding=True,
                truncation=True,
                max_length=profile.max_positions,
                return_tensors="pt",
            )
            labels = lab["input_ids"].masked_fill(lab["attention_mask"] == 0, -100)
            out = model(
                input_ids=enc["input_ids"].to(device),
                attention_mask=enc["attention_mask"].to(device),
                labels=labels.to(device),
            )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(out.loss))
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    bar.close()
    model.eval()
    return float(np.mean(losses[-50:])) if losses else float("nan")


def evaluate(pipeline: CorrectionPipeline, pairs: list[tuple[str, str]], clean: list[str]) -> dict:
    """Held-out figures through the serving code path.

    ``cer_*`` is the project's CER (``triage.metrics.cer``: characters only, spacing and
    punctuation ignored); ``raw_cer_*`` counts every character, spaces included.
    """
    noisy = [n for n, _ in pairs]
    refs = [c for _, c in pairs]
    fixed: list[str] = []
    for k in tqdm(range(0, len(noisy), 32), desc="evaluate held-out"):
        fixed += pipeline.correct_texts(noisy[k : k + 32])
    kept: list[str] = []
    for k in tqdm(range(0, len(clean), 32), desc="evaluate clean"):
        kept += pipeline.correct_texts(clean[k : k + 32])

    def mean(f, a: list[str], b: list[str]) -> float:
        return round(float(np.mean([f(x, y) for x, y in zip(a, b, strict=True)])), 4) if a else 0.0

    return {
        "heldout_pairs": len(pairs),
        "heldout_cer_before": mean(cer, refs, noisy),
        "heldout_cer_after": mean(cer, refs, fixed),
        "heldout_raw_cer_before": mean(edit_rate, refs, noisy),
        "heldout_raw_cer_after": mean(edit_rate, refs, fixed),
        "heldout_changed_share": mean(lambda f, n: float(f != n), fixed, noisy),
        "clean_sentences": len(clean),
        "clean_cer_after": mean(cer, clean, kept),
        "clean_raw_cer_after": mean(edit_rate, clean, kept),
        "clean_changed_share": mean(lambda c, k: float(c != k), clean, kept),
    }


def tune_on_dev(pipeline: CorrectionPipeline, passes: int) -> tuple[CorrectionPipeline, dict]:
    """The pipeline with Whisper's alternatives weighed as fitted on the corpus train speakers and
    thresholds picked on the dev speakers, and its dev figures.

    Starts from today's :class:`CorrectorConfig` defaults for everything the search leaves alone.
    """
    weights = fit_nbest_weights(pipeline, real_cases("train"))
    print(f"Whisper's alternatives weighed as fitted on the train speakers: {weights.model_dump()}")
    base = CorrectorConfig(nbest_weights=weights)
    cases = real_cases("dev")
    best, trials = tune(pipeline, cases, base, passes=passes)
    print(f"dev speakers, {len(cases)} clips, {len(trials)} configs tried; admissible, best first:")
    for line in describe(trials, base)[:8]:
        print("   ", line)
    tuned = CorrectionPipeline(pipeline.seq2seq, pipeline.lexicon, best.config, pipeline.kiwi)
    return tuned, {**best.score.summary(), "configs_tried": len(trials)}


def retune(profile_name: str) -> None:
    """New version of the latest model, thresholds tuned again on dev: weights copied, figures re-measured.

    Thresholds are tuned after training (they gate the trained scorer); this re-tunes them for
    the stored weights (after a change to the pipeline or the search) without training again.
    """
    import shutil

    from triage.model_store import get_model

    set_torch_threads(get_settings().corrector_threads)
    old = get_model(MODEL_NAME)
    meta = dict(old.info.metadata)
    profile = PROFILES[str(meta.get("profile", profile_name))]
    _, held = load_corpus(n_templates=profile.n_templates)
    eval_pairs, clean_eval = held_out_pairs(held), list(held)
    if profile.eval_pairs:
        eval_pairs, clean_eval = eval_pairs[: profile.eval_pairs], clean_eval[: profile.eval_pairs]
    pipeline = CorrectionPipeline.from_path(Path(old.path), {**meta, "config": {}})
    pipeline, dev = tune_on_dev(pipeline, profile.tune_passes)
    metrics = {**evaluate(pipeline, eval_pairs, clean_eval), "dev": dev}
    meta.update(config=pipeline.cfg.model_dump(), metrics=metrics, retuned_from=str(old.tag))
    print(meta["metrics"])
    with bentoml.models.create(MODEL_NAME, labels=dict(old.info.labels), metadata=meta) as ref:
        for item in Path(old.path).iterdir():
            if item.is_file() and item.name != "model.yaml":
                shutil.copy2(item, Path(ref.path) / item.name)
    print(f"saved {ref.tag} (retuned from {old.tag})")


def main(argv: list[str] | None = None) -> None:
    parser = training_parser(__doc__, PROFILES)
    parser.add_argument(
        "--pretrained", type=Path, help="local KoBART checkpoint (BartForConditionalGeneration)"
    )
    parser.add_argument(
        "--retune",
        action="store_true",
        help="store the latest model again with thresholds re-tuned on dev (no training), re-evaluated",
    )
    args = parser.parse_args(argv)
    if args.retune:
        retune(args.profile)
        return
    if has_model(MODEL_NAME) and not args.force:
        print(f"{MODEL_NAME} already in the model store; use --force to rebuild.")
        return

    t0 = time.time()
    profile = PROFILES[args.profile]
    seed_everything(args.seed)
    threads = set_torch_threads(get_settings().corrector_threads)
    device = pick_device()
    cfg = CorrectorConfig()

    train, held = load_corpus(n_templates=profile.n_templates, seed=args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(train)
    lexicon_sentences = list(train)  # the lexicon always gets every training-side sentence
    if profile.max_sentences:
        train = train[: profile.max_sentences]
    pairs = make_pairs(train, seed=args.seed, copies=profile.copies)
    eval_pairs = held_out_pairs(held)
    clean_eval = list(held)
    if profile.eval_pairs:
        eval_pairs, clean_eval = eval_pairs[: profile.eval_pairs], clean_eval[: profile.eval_pairs]
    hunspell = read_hunspell()
    print(f"{len(train)} training sentences -> {len(pairs)} pairs; {len(held)} held-out sentences")

    if args.pretrained:
        tokenizer = AutoTokenizer.from_pretrained(str(args.pretrained))
        model = BartForConditionalGeneration.from_pretrained(str(args.pretrained))
    else:
        tokenizer = build_char_tokenizer(train + ["".join(hunspell)])
        model = build_model(
            tokenizer,
            dict(
                d_model=profile.d_model,
                layers=profile.layers,
                heads=profile.heads,
                ffn=profile.ffn,
                max_positions=profile.max_positions,
            ),
        )
    n_params = sum(p.numel() for p in model.parameters())
    print(f"BART: {n_params / 1e6:.2f} M params, vocab {len(tokenizer)}, {device}, {threads} thread(s)")
    t_train = time.time()
    final_loss = train_seq2seq(model, tokenizer, pairs, profile, device, args.seed)
    train_s = time.time() - t_train

    from kiwipiepy import Kiwi

    kiwi = Kiwi()
    lexicon = Lexicon.build(corpus_words(lexicon_sentences, kiwi), hunspell)
    seq2seq = Seq2Seq(model, tokenizer, cfg.max_length)
    pipeline, dev = tune_on_dev(CorrectionPipeline(seq2seq, lexicon, cfg, kiwi), profile.tune_passes)
    cfg = pipeline.cfg
    metrics = {**evaluate(pipeline, eval_pairs, clean_eval), "dev": dev}
    print(metrics)

    with bentoml.models.create(
        MODEL_NAME,
        labels={"profile": args.profile, "kind": "seq2seq"},
        metadata={
            "config": cfg.model_dump(),
            "profile": args.profile,
            "profile_settings": {k: (v if v is not None else 0) for k, v in asdict(profile).items()},
            "seed": args.seed,
            "pretrained": str(args.pretrained) if args.pretrained else "",
            "parameters": n_params,
            "vocab_size": len(tokenizer),
            "lexicon_words": len(lexicon),
            "train_pairs": len(pairs),
            "final_loss": round(final_loss, 4),
            "train_seconds": round(train_s, 1),
            "total_seconds": round(time.time() - t0, 1),
            "metrics": metrics,
        },
    ) as ref:
        path = Path(ref.path)
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        lexicon.save(path / LEXICON_FILE)
    print(f"saved {ref.tag} in {time.time() - t0:.0f} s (training {train_s:.0f} s)")


if __name__ == "__main__":
    main()
