"""Whisper alone with 8 clips waiting at once: today's path against the ways to make it cheaper.

An adaptive batch of short clips used to cost one full 30-s encoder pass per clip whether the
clips were decoded together or one by one. This compares, on corpus *dev* speakers, in one
run (groups of ``--batch`` clips, every configuration timed on the same group before the next
group starts, so a load spike from other processes on a shared machine slows all alike):

- ``full 1-by-1`` / ``full batch``: the full 30-s context, one clip per call / the group as one
  batch (today's code path, ``TRIAGE_WHISPER_SHORT_CONTEXT=0``);
- ``short 1-by-1`` / ``short batch``: the shortened encoder context (``triage.whisper.short_context``);
- ``packed``: the group laid side by side in as few 30-s windows as fit, ``--gap`` seconds of
  silence apart, decoded once with word timestamps and split back to clips by word time
  (built here to be measured; the engine does not serve it, see ``docs/PERFORMANCE.md``).

For every configuration: mean CER against the references, clips left empty, and for packing
the words that fell outside their own clip's span (into a gap, so attributable to a neighbour).

    python -m benchmarks.bench_whisper_concurrency
    python -m benchmarks.bench_whisper_concurrency --clips 64 --batch 8
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.corpus import corpus_clips
from triage.audio import decode_audio
from triage.config import SAMPLE_RATE, get_settings
from triage.metrics import cer
from triage.model_store import get_model
from triage.whisper.engines import CTranslate2Engine, load_engine

WINDOW_S = 30.0


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def packed_transcripts(
    engine: CTranslate2Engine, clips: list[np.ndarray], gap_s: float
) -> tuple[list[str], int]:
    """Texts of ``clips`` decoded side by side in shared 30-s windows, and the words outside their clip.

    Each word goes to the clip whose span holds its midpoint, or the nearest one when it lies
    in a gap; a word in a gap is counted as one that may belong to a neighbour.
    """
    gap = int(gap_s * SAMPLE_RATE)
    packs: list[list[int]] = [[]]
    length = 0
    for i, clip in enumerate(clips):
        need = clip.shape[0] + (gap if packs[-1] else 0)
        if packs[-1] and length + need > WINDOW_S * SAMPLE_RATE:
            packs.append([])
            length, need = 0, clip.shape[0]
        packs[-1].append(i)
        length += need
    inputs, spans = [], []
    for pack in packs:
        parts, pack_spans, position = [], [], 0
        for k, i in enumerate(pack):
            if k:
                parts.append(np.zeros(gap, np.float32))
                position += gap
            parts.append(clips[i])
            pack_spans.append((i, position / SAMPLE_RATE, (position + clips[i].shape[0]) / SAMPLE_RATE))
            position += clips[i].shape[0]
        inputs.append((np.concatenate(parts), lambda t: t))
        spans.append(pack_spans)
    words: list[list[str]] = [[] for _ in clips]
    outside = 0
    for pack_spans, result in zip(spans, engine._decode_batched(inputs), strict=True):
        for segment, _ in result:
            for word in segment.words:
                middle = (word.start + word.end) / 2
                distance = [max(start - middle, middle - end, 0.0) for _, start, end in pack_spans]
                nearest = int(np.argmin(distance))
                outside += distance[nearest] > 0
                words[pack_spans[nearest][0]].append(word.word)
    return ["".join(w).strip() for w in words], outside


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=48, help="dev clips (seeded choice)")
    parser.add_argument("--batch", type=int, default=8, help="clips waiting at once")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds of silence between packed clips")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    chosen = random.Random(args.seed).sample(corpus_clips("dev"), args.clips)
    audio = [decode_audio(c.path.read_bytes(), "audio/flac") for c in chosen]
    audio_s = sum(a.shape[0] for a in audio) / SAMPLE_RATE
    print(
        f"{len(chosen)} dev clips (seed {args.seed}), {audio_s:.0f} s of audio, groups of {args.batch}, "
        f"{os.cpu_count()} CPU cores; load average at start: {load_average()}"
    )
    base = get_settings()
    model_dir = Path(get_model(base.whisper_model).path)
    full = load_engine(model_dir, replace(base, whisper_engine="ctranslate2", whisper_short_context=False))
    short = load_engine(model_dir, replace(base, whisper_engine="ctranslate2", whisper_short_context=True))
    configs = {
        "full 1-by-1": lambda g: [full.transcribe_batch([c])[0].text for c in g],
        "full batch": lambda g: [t.text for t in full.transcribe_batch(g)],
        "short 1-by-1": lambda g: [short.transcribe_batch([c])[0].text for c in g],
        "short batch": lambda g: [t.text for t in short.transcribe_batch(g)],
        "packed": lambda g: packed_transcripts(full, g, args.gap),
    }
    for engine in (full, short):
        engine.transcribe_batch(audio[:1])  # warm-up
    texts: dict[str, list[str]] = {name: [] for name in configs}
    seconds = dict.fromkeys(configs, 0.0)
    outside = 0
    for i in range(0, len(audio), args.batch):
        group = audio[i : i + args.batch]
        for name, run in configs.items():
            started = time.perf_counter()
            out = run(group)
            seconds[name] += time.perf_counter() - started
            if name == "packed":
                out, crossed = out
                outside += crossed
            texts[name] += out
    print(f"load average at end: {load_average()}")
    print(
        f"{'config':<13} {'mean CER':>8} {'empty':>6} {'same as full':>12} "
        f"{'s/group':>8} {'RTF':>6} {'speed-up':>9}"
    )
    groups = -(-len(audio) // args.batch)
    for name in configs:
        errors = [cer(c.transcript, t) for c, t in zip(chosen, texts[name], strict=True)]
        same = sum(a == b for a, b in zip(texts[name], texts["full 1-by-1"], strict=True))
        print(
            f"{name:<13} {100 * np.mean(errors):>7.2f}% {sum(not t for t in texts[name]):>6} "
            f"{same:>6}/{len(chosen):<5} {seconds[name] / groups:>8.2f} {seconds[name] / audio_s:>6.3f} "
            f"{seconds['full 1-by-1'] / seconds[name]:>8.2f}x"
        )
    print(f"packed: {outside} words fell in a gap between clips (--gap {args.gap})")


if __name__ == "__main__":
    main()
