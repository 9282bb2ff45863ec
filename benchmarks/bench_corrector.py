"""ASR error-corrector figures: held-out CER before/after, guard on clean text, latency, batching.

All figures go through :class:`~triage.corrector.pipeline.CorrectionPipeline`, the code the
``Corrector`` runner serves, with the corrector model of the store in use
(``BENTOML_HOME``). With ``--whisper`` (and Whisper in the same store) it also
transcribes the real clips of ``../shared/audio/speech`` and reports CER against their
reference transcripts before and after correction. With ``--speakers dev`` it corrects
Whisper's cached output for the corpus dev speakers (the clips the thresholds were tuned
on), with ``--speakers train`` the train speakers' (which the tuning never saw; test
speakers are ``benchmarks.eval_real``'s), lists every clip it changed and times it.

    python -m benchmarks.bench_corrector
    python -m benchmarks.bench_corrector --limit 200 --whisper --speakers dev
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

from harness.corpus import Split
from harness.shared_audio import SPEECH_DIR, read_manifest
from training.corrector.corpus import load_corpus
from training.corrector.pairs import held_out_pairs
from training.corrector.real import real_cases, score_cases
from triage.analyze import correction_items
from triage.corrector.guard import edit_rate
from triage.corrector.pipeline import CorrectionPipeline
from triage.metrics import cer


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def quality(pipeline: CorrectionPipeline, pairs: list[tuple[str, str]], clean: list[str]) -> None:
    noisy = [n for n, _ in pairs]
    refs = [c for _, c in pairs]
    fixed: list[str] = []
    for k in range(0, len(noisy), 32):
        fixed += pipeline.correct_texts(noisy[k : k + 32])
    kept: list[str] = []
    for k in range(0, len(clean), 32):
        kept += pipeline.correct_texts(clean[k : k + 32])
    before = [cer(r, n) for r, n in zip(refs, noisy, strict=True)]
    after = [cer(r, f) for r, f in zip(refs, fixed, strict=True)]
    print(f"held-out noisy pairs: {len(pairs)} (sentences never trained on)")
    print(f"  CER before {mean(before):.4f}  after {mean(after):.4f}  (chars only, project metric)")
    raw_b = mean([edit_rate(r, n) for r, n in zip(refs, noisy, strict=True)])
    raw_a = mean([edit_rate(r, f) for r, f in zip(refs, fixed, strict=True)])
    print(f"  raw CER (spaces and punctuation counted) before {raw_b:.4f}  after {raw_a:.4f}")
    changed = [f != n for f, n in zip(fixed, noisy, strict=True)]
    better = sum(a < b for a, b in zip(after, before, strict=True))
    worse = sum(a > b for a, b in zip(after, before, strict=True))
    print(f"  changed {mean(changed):.1%} of sentences; better {better}, worse {worse}")
    print(f"  exactly restored: {sum(f == r for f, r in zip(fixed, refs, strict=True))}/{len(refs)}")
    clean_cer = [edit_rate(c, k) for c, k in zip(clean, kept, strict=True)]
    n_changed = sum(c != k for c, k in zip(clean, kept, strict=True))
    print(f"clean held-out sentences: {len(clean)}: raw CER after {mean(clean_cer):.4f}, changed {n_changed}")
    for c, k in [(c, k) for c, k in zip(clean, kept, strict=True) if c != k][:5]:
        print(f"    {c!r} -> {k!r}")


def speed(pipeline: CorrectionPipeline, texts: list[str], batch: int) -> None:
    pipeline.correct_texts(texts[:4])  # warm-up
    lat = []
    for t in texts:
        started = time.perf_counter()
        pipeline.correct_texts([t])
        lat.append(time.perf_counter() - started)
    one_by_one = sum(lat)
    started = time.perf_counter()
    for k in range(0, len(texts), batch):
        pipeline.correct_texts(texts[k : k + batch])
    batched = time.perf_counter() - started
    lat_ms = sorted(x * 1000 for x in lat)
    p95 = lat_ms[min(len(lat_ms) - 1, math.ceil(0.95 * len(lat_ms)) - 1)]
    print(
        f"latency per segment (one by one, {len(texts)} segments): mean {statistics.mean(lat_ms):.1f} ms, "
        f"p50 {statistics.median(lat_ms):.1f} ms, p95 {p95:.1f} ms"
    )
    print(
        f"batched ({batch} per call): {batched / len(texts) * 1000:.1f} ms per segment; "
        f"throughput ratio batched/one-by-one {one_by_one / batched:.2f}x"
    )


def whisper_eval(pipeline: CorrectionPipeline) -> None:
    from triage.audio import decode_audio
    from triage.config import get_settings
    from triage.model_store import get_model, has_model
    from triage.whisper import MODEL_NAME as WHISPER
    from triage.whisper.engines import load_engine

    if not has_model(WHISPER):
        print(f"whisper: no {WHISPER} in this store (python -m training.whisper.import_weights); skipped")
        return
    rows = read_manifest(SPEECH_DIR)
    engine = load_engine(Path(get_model(WHISPER).path), get_settings())
    clips = [decode_audio((SPEECH_DIR / r["file"]).read_bytes(), "audio/wav") for r in rows]
    transcripts = engine.transcribe_batch(clips)
    items, owners = [], []
    for i, transcript in enumerate(transcripts):
        segment_items = correction_items(transcript)  # what /analyze sends the corrector
        items += segment_items
        owners += [i] * len(segment_items)
    outs = pipeline.correct(items)
    corrected = [[] for _ in rows]
    for i, o in zip(owners, outs, strict=True):
        corrected[i].append(o.corrected)
    before = [cer(r["transcript"], t.text) for r, t in zip(rows, transcripts, strict=True)]
    after = [cer(r["transcript"], " ".join(c)) for r, c in zip(rows, corrected, strict=True)]
    changed = sum(o.corrected != o.original.strip() for o in outs)
    print(
        f"{WHISPER} on {len(rows)} real clips: CER before {mean(before):.4f} after {mean(after):.4f}; "
        f"{changed}/{len(outs)} segments changed"
    )
    for r, t, c in zip(rows, transcripts, corrected, strict=True):
        if " ".join(c).strip() != t.text.strip():
            print(f"    {t.text!r} -> {' '.join(c)!r} (ref {r['transcript']!r})")


def corpus_eval(pipeline: CorrectionPipeline, split: Split, rounds: int = 3) -> None:
    """Every clip of ``split`` the corrector changes, then its time per clip with Whisper's
    n-best weighed and ignored (``asr_nbest_enabled``), one clip at a time, interleaved."""
    cases = real_cases(split)
    score = score_cases(pipeline, cases)
    print(f"corpus {split} speakers (Whisper's cached output, read aloud): {score.summary()}")
    for c, b, a, t in zip(cases, score.before, score.after, score.corrected, strict=True):
        if t != c.whisper:
            mark = "+" if a < b else "-" if a > b else "="
            print(f"  {mark} {c.whisper!r} -> {t!r} (ref {c.reference!r})")
    ignored = pipeline.cfg.model_copy(update={"asr_nbest_enabled": False})
    variants = {
        "n-best weighed": pipeline,
        "n-best ignored": CorrectionPipeline(pipeline.seq2seq, pipeline.lexicon, ignored, pipeline.kiwi),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(rounds):
        for case in cases:
            for name in sorted(variants, reverse=bool(r % 2)):
                started = time.perf_counter()
                variants[name].correct(case.items)
                seconds[name].append(time.perf_counter() - started)
    for name, values in seconds.items():
        print(f"  {name}: {1000 * mean(values):.1f} ms per clip ({len(values)} corrections)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=0, help="held-out pairs/sentences used (0: all)")
    parser.add_argument("--speed-segments", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument(
        "--whisper",
        action="store_true",
        help="also correct Whisper's transcripts of the 14 development clips",
    )
    parser.add_argument(
        "--speakers", choices=["dev", "train"], help="also correct Whisper's output for these corpus speakers"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    pipeline = CorrectionPipeline.from_store()
    print(f"loaded in {time.perf_counter() - started:.1f} s")
    _, held = load_corpus()
    pairs = held_out_pairs(held)
    clean = list(held)
    if args.limit:
        pairs, clean = pairs[: args.limit], clean[: args.limit]
    quality(pipeline, pairs, clean)
    speed(pipeline, [n for n, _ in pairs][: args.speed_segments], args.batch)
    if args.whisper:
        whisper_eval(pipeline)
    if args.speakers:
        corpus_eval(pipeline, args.speakers)


if __name__ == "__main__":
    main()
