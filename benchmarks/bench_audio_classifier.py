"""Latency and batching gain of the audio classifier, measured on the real clips of ../shared/audio.

    python -m benchmarks.bench_audio_classifier                 # in-process, the model of the store
    python -m benchmarks.bench_audio_classifier --serve        # over HTTP, adaptive batching on vs off

In-process it prints the latency per clip (one clip per call, median and p90) and the
throughput of batched calls (a batch of clips in one ``classify`` call, i.e. one forward
pass) over unbatched ones (one call per clip). With ``--serve`` it starts the
``AudioClassifier`` service twice, with ``TRIAGE_BATCHING=1`` and ``=0``, sends
``--concurrency`` clients of single-clip requests to each and prints the per-request
latency and the throughput ratio (what adaptive batching buys over HTTP).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from harness.shared_audio import SHARED_AUDIO
from training.audio_classifier.real_clips import load_wave
from triage.audio_classifier.features import FeatureParams, clip_windows
from triage.device import set_torch_threads


def real_clips(window_s: float) -> list[np.ndarray]:
    """Every real clip, cut to one window each so clips cost the same (long ones give several)."""
    params = FeatureParams(window_s=window_s, hop_s=window_s)
    out: list[np.ndarray] = []
    for sub in ("sounds", "speech"):
        for path in sorted((SHARED_AUDIO / sub).iterdir()):
            if path.suffix in {".wav", ".ogg", ".flac"}:
                out.extend(clip_windows(load_wave(path), params))
    return out


def measure(classify: Callable[[Sequence[np.ndarray]], object], clips: list[np.ndarray], batch: int) -> dict:
    classify(clips[:2])  # warm-up
    single = []
    for c in clips:
        t = time.perf_counter()
        classify([c])
        single.append(time.perf_counter() - t)
    t = time.perf_counter()
    for c in clips:
        classify([c])
    unbatched = len(clips) / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, len(clips), batch):
        classify(clips[i : i + batch])
    batched = len(clips) / (time.perf_counter() - t)
    single.sort()
    return {
        "clips": len(clips),
        "latency_ms_median": 1000 * statistics.median(single),
        "latency_ms_p90": 1000 * single[int(0.9 * (len(single) - 1))],
        "unbatched_clips_per_s": unbatched,
        "batched_clips_per_s": batched,
        "batch_ratio": batched / unbatched,
    }


def serve_and_measure(clips: list[np.ndarray], batching: bool, concurrency: int, rounds: int) -> dict:
    """Start the runner on a free port, measure sequential latency and concurrent throughput."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import bentoml
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TRIAGE_BATCHING": "1" if batching else "0"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            "runners.audio_classifier:AudioClassifier",
            "--port",
            str(port),
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"runner did not start: {log.read()[-3000:].decode(errors='replace')}")
            time.sleep(1)
        clients = [bentoml.SyncHTTPClient(url, timeout=300) for _ in range(concurrency)]
        clients[0].classify(clips=clips[:1])
        single = []
        for c in clips:
            t = time.perf_counter()
            clients[0].classify(clips=[c])
            single.append(time.perf_counter() - t)
        work = [clips[i % len(clips)] for i in range(rounds * len(clips))]

        def worker(k: int) -> None:
            for c in work[k::concurrency]:
                clients[k].classify(clips=[c])

        t = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(worker, range(concurrency)))
        throughput = len(work) / (time.perf_counter() - t)
        for c in clients:
            c.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return {"latency_ms_median": 1000 * statistics.median(single), "clips_per_s": throughput}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", action="store_true", help="measure over HTTP, batching on vs off")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (--serve)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the clips (--serve)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (in-process; as the runner)"
    )
    args = parser.parse_args()
    clips = real_clips(4.0)
    if args.serve:
        on = serve_and_measure(clips, True, args.concurrency, args.rounds)
        off = serve_and_measure(clips, False, args.concurrency, args.rounds)
        print(
            f"audio classifier over HTTP, {len(clips)} real 4 s clips, {args.concurrency} concurrent clients"
        )
        print(f"  latency per request (sequential): median {on['latency_ms_median']:.1f} ms")
        print(
            f"  batching on {on['clips_per_s']:.1f} clips/s, off {off['clips_per_s']:.1f} clips/s: ", end=""
        )
        print(f"batch ratio {on['clips_per_s'] / off['clips_per_s']:.2f}")
        return
    from triage.audio_classifier import MODEL_NAME
    from triage.audio_classifier.model import AudioClassifierModel
    from triage.model_store import get_model

    if args.threads:
        set_torch_threads(args.threads)
    model = AudioClassifierModel.from_store(get_model(MODEL_NAME))
    classify = model.predict
    where = f"in-process on {model.device}, {torch.get_num_threads()} torch threads"
    r = measure(classify, clips, args.batch)
    print(f"audio classifier ({where}), {r['clips']} real 4 s clips from {Path(SHARED_AUDIO)}")
    print(f"  latency per clip: median {r['latency_ms_median']:.1f} ms, p90 {r['latency_ms_p90']:.1f} ms")
    print(f"  unbatched {r['unbatched_clips_per_s']:.1f} clips/s, batched (x{args.batch}) ", end="")
    print(f"{r['batched_clips_per_s']:.1f} clips/s: batch ratio {r['batch_ratio']:.2f}")


if __name__ == "__main__":
    main()
