"""Whisper figures: CER, real-time factor per engine, batched vs one-by-one throughput.

All figures come from one run on the same machine, so their ratios are comparable even
where absolute times are noisy. Reads the real clips of ``../shared/audio/speech``.

    python -m benchmarks.bench_whisper                      # both engines
    python -m benchmarks.bench_whisper --engines ctranslate2 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.shared_audio import SPEECH_DIR, read_manifest
from triage.audio import decode_audio
from triage.config import SAMPLE_RATE, get_settings
from triage.metrics import cer
from triage.model_store import get_model
from triage.whisper.engines import load_engine


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def transcribe_one_by_one(engine, clips: list[np.ndarray]) -> list:
    return [engine.transcribe_batch([clip])[0] for clip in clips]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["ctranslate2", "openai"])
    parser.add_argument("--rounds", type=int, default=1, help="repetitions of each measurement (best kept)")
    args = parser.parse_args()

    rows = read_manifest(SPEECH_DIR)
    clips = [decode_audio((SPEECH_DIR / r["file"]).read_bytes()) for r in rows]
    audio_s = sum(c.shape[0] for c in clips) / SAMPLE_RATE
    model_dir = Path(get_model(get_settings().whisper_model).path)
    print(f"{len(clips)} clips, {audio_s:.1f} s of audio, {os.cpu_count()} CPU cores")
    print(f"{'engine':<12} {'mean CER':>8} {'RTF 1-by-1':>10} {'RTF batch':>10} {'batch/1-by-1':>13}")
    for name in args.engines:
        engine = load_engine(model_dir, replace(get_settings(), whisper_engine=name))
        engine.transcribe_batch(clips[:1])  # warm-up
        one_by_one = min(timed(transcribe_one_by_one, engine, clips)[1] for _ in range(args.rounds))
        best = None
        for _ in range(args.rounds):
            out, seconds = timed(engine.transcribe_batch, clips)
            best = seconds if best is None else min(best, seconds)
        mean_cer = float(np.mean([cer(r["transcript"], t.text) for r, t in zip(rows, out, strict=True)]))
        print(
            f"{name:<12} {mean_cer:>8.3f} {one_by_one / audio_s:>10.3f} {best / audio_s:>10.3f} "
            f"{one_by_one / best:>12.2f}x"
        )


if __name__ == "__main__":
    main()
