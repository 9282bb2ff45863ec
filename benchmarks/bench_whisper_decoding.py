"""Whisper decoding choices on real read speech: CER and latency of each, in one run.

Compares greedy decoding with beam search, faster-whisper's temperature
fallback, prompt and hotword biasing toward a short generic emergency lexicon, Silero
VAD (Silero's own 400 ms of padding around speech, or 800 ms: ``vad800``) and the shortened
encoder context, each as the served engine runs it (``load_engine``
with the ``TRIAGE_WHISPER_*`` setting changed). Clips come from the corpus *dev* speakers only
(a seeded subset, the same for every configuration); test speakers stay for the evaluation
command.

Every configuration decodes each clip in turn before the next clip starts, one clip per call
as a lone request would be served, so a load spike from other processes on a shared machine
slows all of them alike and the latency ratios stay comparable. Six seeded 25-s windows
without speech (silence, line noise, hum) then show what each configuration invents where
nobody speaks, and how long it takes to do so. "read aloud" is the mean CER with digits and
Latin letters read as the corpus spells them (``cer(..., spoken=True)``): 300cc as 삼백씨씨.

    python -m benchmarks.bench_whisper_decoding
    python -m benchmarks.bench_whisper_decoding --clips 32 --configs greedy beam5 --batch 16
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
from triage.config import SAMPLE_RATE, Settings, get_settings
from triage.metrics import cer, normalise_for_cer
from triage.model_store import get_model
from triage.whisper.engines import load_engine

LEXICON = "119 112 구급차 소방서 경찰 응급 쓰러졌어요 불이 났어요 살려주세요"
"""Generic words of emergency calls, written before looking at any evaluation text."""

GREEDY: dict[str, object] = {
    "whisper_beam_size": 1,
    "whisper_temperature_fallback": False,
    "whisper_initial_prompt": "",
    "whisper_hotwords": "",
    "whisper_vad": False,
    "whisper_vad_pad_ms": 400,
    "whisper_short_context": False,
    "whisper_alternatives": True,
}
"""Plain greedy decoding, every decoding setting spelled out so the table does not move when a
served default does; each configuration below changes some of them."""
BEAM5 = {**GREEDY, "whisper_beam_size": 5}
SERVED = {
    **BEAM5,
    "whisper_vad": True,
    "whisper_vad_pad_ms": 800,
    "whisper_temperature_fallback": True,
    "whisper_short_context": True,
}
"""The decoding the server runs by default (``triage.config``)."""
CONFIGS: dict[str, dict[str, object]] = {
    "greedy": GREEDY,
    "beam5": BEAM5,
    "fallback": {**GREEDY, "whisper_temperature_fallback": True},
    "beam5+fallback": {**BEAM5, "whisper_temperature_fallback": True},
    "prompt": {**GREEDY, "whisper_initial_prompt": LEXICON},
    "hotwords": {**GREEDY, "whisper_hotwords": LEXICON},
    "vad": {**GREEDY, "whisper_vad": True},
    "beam5+vad": {**BEAM5, "whisper_vad": True},
    "short-context": {**GREEDY, "whisper_short_context": True},
    "beam5+short-context": {**BEAM5, "whisper_short_context": True},
    "beam5+vad+short-context": {**BEAM5, "whisper_vad": True, "whisper_short_context": True},
    "beam5+vad+fallback+short-context": {
        **BEAM5,
        "whisper_vad": True,
        "whisper_temperature_fallback": True,
        "whisper_short_context": True,
    },
    "beam5+vad800+fallback+short-context": SERVED,
    "beam5+vad800+fallback+short-context+1-best": {**SERVED, "whisper_alternatives": False},
}


def non_speech_probes(seed: int, seconds: float = 25.0) -> dict[str, np.ndarray]:
    """Windows with no speech at all (digital silence, line noise, mains hum), seeded.

    Whatever Whisper writes on them is invented: a caller's pause or an open line must not
    turn into words the text classifier then reads.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)

    def at_dbfs(x: np.ndarray, dbfs: float) -> np.ndarray:
        return (x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)).astype(np.float32)

    hum = np.sin(2 * np.pi * 50 * np.arange(n) / SAMPLE_RATE)
    return {
        "silence": np.zeros(n, np.float32),
        "white -60 dBFS": at_dbfs(rng.standard_normal(n), -60),
        "white -45 dBFS": at_dbfs(rng.standard_normal(n), -45),
        "white -30 dBFS": at_dbfs(rng.standard_normal(n), -30),
        "brown -35 dBFS": at_dbfs(np.cumsum(rng.standard_normal(n)), -35),
        "hum 50 Hz -35 dBFS": at_dbfs(hum + 0.3 * np.sin(3 * np.pi * 100 * np.arange(n) / SAMPLE_RATE), -35),
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=60, help="dev clips to decode (seeded choice)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--batch", type=int, default=0, help="also time decoding the clips in batches of this size (0: skip)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of the batched timing (best kept)")
    args = parser.parse_args()
    if args.configs[0] != "greedy":
        args.configs = ["greedy", *[c for c in args.configs if c != "greedy"]]

    chosen = sorted(random.Random(args.seed).sample(corpus_clips("dev"), args.clips), key=lambda c: c.file)
    audio = [decode_audio(c.path.read_bytes(), "audio/flac") for c in chosen]
    audio_s = [a.shape[0] / SAMPLE_RATE for a in audio]
    print(
        f"{len(chosen)} dev clips (seed {args.seed}) from {len({c.speaker for c in chosen})} speakers, "
        f"{sum(audio_s):.0f} s of audio, {os.cpu_count()} CPU cores"
    )
    print("clips:", " ".join(c.file for c in chosen))
    print(f"load average at start: {load_average()}")

    base: Settings = get_settings()
    model_dir = Path(get_model(base.whisper_model).path)
    engines = {name: load_engine(model_dir, replace(base, **CONFIGS[name])) for name in args.configs}
    for engine in engines.values():
        engine.transcribe_batch(audio[:1])  # warm-up
    errors = {name: [] for name in engines}
    spoken_errors = {name: [] for name in engines}
    seconds = {name: [] for name in engines}
    for clip, samples in zip(chosen, audio, strict=True):
        for name, engine in engines.items():
            started = time.perf_counter()
            text = engine.transcribe_batch([samples])[0].text
            seconds[name].append(time.perf_counter() - started)
            errors[name].append(cer(clip.transcript, text))
            spoken_errors[name].append(cer(clip.transcript, text, spoken=True))
    invented = {name: 0 for name in engines}
    probe_seconds = {name: [] for name in engines}
    for probe, samples in non_speech_probes(args.seed).items():
        for name, engine in engines.items():
            started = time.perf_counter()
            text = engine.transcribe_batch([samples])[0].text
            probe_seconds[name].append(time.perf_counter() - started)
            invented[name] += len(normalise_for_cer(text))
            if text:
                print(f"  {name} on {probe}: {text!r}")
    print(f"load average at end: {load_average()}")

    greedy = np.array(errors["greedy"])
    print(
        f"{'config':<19} {'mean CER':>8} {'read aloud':>10} {'median CER':>10} {'worse':>6} {'better':>6} "
        f"{'s/clip':>7} {'RTF':>6} {'vs greedy':>9} {'non-speech chars':>16} {'s/non-speech':>12}"
    )
    for name in engines:
        e, s = np.array(errors[name]), np.array(seconds[name])
        print(
            f"{name:<19} {e.mean():>8.4f} {np.mean(spoken_errors[name]):>10.4f} {np.median(e):>10.4f} "
            f"{int((e > greedy).sum()):>6} "
            f"{int((e < greedy).sum()):>6} {s.mean():>7.3f} {s.sum() / sum(audio_s):>6.3f} "
            f"{s.sum() / sum(seconds['greedy']):>8.2f}x {invented[name]:>16} "
            f"{np.mean(probe_seconds[name]):>12.2f}"
        )
    if args.batch:
        batched_rtf(engines, audio, args.batch, args.rounds)


def batched_rtf(engines: dict, audio: list[np.ndarray], size: int, rounds: int) -> None:
    """Throughput under load, as the runner sees it: clips decoded ``size`` at a time."""
    batches = [audio[i : i + size] for i in range(0, len(audio), size)]
    seconds = {name: [0.0] * rounds for name in engines}
    for r in range(rounds):
        for batch in batches:
            for name, engine in engines.items():
                started = time.perf_counter()
                engine.transcribe_batch(batch)
                seconds[name][r] += time.perf_counter() - started
    audio_s = sum(a.shape[0] for a in audio) / SAMPLE_RATE
    print(f"batches of {size}, best of {rounds} rounds; load average now: {load_average()}")
    print(f"{'config':<19} {'RTF batch':>9} {'vs greedy':>9}")
    for name in engines:
        print(
            f"{name:<19} {min(seconds[name]) / audio_s:>9.3f} "
            f"{min(seconds[name]) / min(seconds['greedy']):>8.2f}x"
        )


if __name__ == "__main__":
    main()
