"""End-to-end figures of ``/analyze`` over a real server: triage accuracy and latency.

Posts every real clip of ``../shared/audio/speech`` (labelled emergency / normal in its
manifest) to ``/analyze`` and prints each decision, the accuracy, and the p50 / p95
latency of sequential requests (one user) for the clip closest to 5 s.

    .venv/bin/python -m benchmarks.eval_end_to_end --home ~/bentoml --repeats 20
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import httpx
import numpy as np

from loadtest.server import ServeProcess, default_home
from triage.metrics import cer

SPEECH_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "audio" / "speech"


def post(url: str, path: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    response = httpx.post(
        f"{url}/analyze", files={"file": (path.name, path.read_bytes(), "audio/wav")}, timeout=300
    )
    response.raise_for_status()
    return response.json(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the five models")
    parser.add_argument("--repeats", type=int, default=20, help="sequential requests for the latency figures")
    args = parser.parse_args()
    with (SPEECH_DIR / "manifest.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with ServeProcess(args.home or default_home()) as server:
        correct, asr, fixed = 0, [], []
        print(f"{'clip':<28} {'truth':<9} {'decision':<9} {'p':>5} {'category':<9} transcript -> corrected")
        for row in rows:
            body, _ = post(server.url, SPEECH_DIR / row["file"])
            decision = body["decision"]
            truth = row["label"] == "emergency"
            correct += decision["is_emergency"] == truth
            asr.append(cer(row["transcript"], body["transcript"]))
            fixed.append(cer(row["transcript"], body["corrected_transcript"]))
            verdict = "emergency" if decision["is_emergency"] else "normal"
            print(
                f"{row['file']:<28} {row['label']:<9} {verdict:<9} {decision['emergency_probability']:>5.2f} "
                f"{decision['category']:<9} {body['transcript']} -> {body['corrected_transcript']}"
            )
        print(f"\naccuracy {correct}/{len(rows)} = {correct / len(rows):.2f}")
        print(f"CER of Whisper {np.mean(asr):.3f}, after correction {np.mean(fixed):.3f}")
        closest = min(rows, key=lambda r: abs(float(r["duration_s"]) - 5.0))
        clip = SPEECH_DIR / closest["file"]
        post(server.url, clip)  # warm-up
        latencies = [post(server.url, clip)[1] * 1000 for _ in range(args.repeats)]
        print(
            f"/analyze of {clip.name} ({closest['duration_s']} s), {args.repeats} sequential requests: "
            f"p50 {np.percentile(latencies, 50):.0f} ms, p95 {np.percentile(latencies, 95):.0f} ms"
        )


if __name__ == "__main__":
    main()
