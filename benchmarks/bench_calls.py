"""Live calls (``WS /calls``) over a real server: accuracy, latency, alert delay, capacity, faults.

    .venv/bin/python -m benchmarks.bench_calls --home /tmp/default-store \\
        [--max-calls 12 | --calls 1 2 4] [--modes on off] [--accuracy-speed 4] [--skip-accuracy] [--fault]

For each batching mode (``TRIAGE_BATCHING=1`` then ``0``, one server after the other):

- **accuracy** (batching on only): every development clip of ``shared/audio/speech`` streamed
  alone at ``--accuracy-speed`` x real time; mean CER of the streamed transcript against
  ``/transcribe`` of the same clip, and of both against the manifest's reference;
- **latency and alert delay** (1 call in real time): the latency call (the three emergency clips,
  then four normal ones, one second of silence after each) streamed once. Committed-text latency
  is the time from the end of an utterance's speech (its ``segment`` end less the VAD's closing
  silence) to the ``segment`` event; the alert delay is the time from the end of the decisive
  utterance or sound window to the ``alert``; and the time to the first ``partial``;
- **capacity**: N simultaneous real-time copies of the latency call (started 1 s apart), N
  stepping up 1, 2, 3, ... ``--max-calls`` (or the counts of ``--calls``): p50/p95 committed-text
  latency over all their segments, calls that ended without a summary. The largest N whose p95
  stays within 5 s with every call summarised is the capacity of that mode; stepping stops at the
  first N that misses it (more calls only miss it by more). The report ends with both modes'
  capacities and their ratio, on over off: what batching buys, measured in one run.

Every figure carries the box's load averages (1, 5, 15 min) when it was taken: the box is shared.

``--fault`` then kills the Whisper runner in the middle of a call and reports how the call
ended (``error`` event and close code, or a summary) and how long until ``/readyz`` answers again.
A JSON report goes to ``loadtest/reports/``.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from harness.call_client import CallResult, call_audio, read_pcm, run_call, ws_url
from harness.server import ServeProcess, default_home, model_summary
from harness.shared_audio import SPEECH_DIR, read_manifest
from loadtest.payloads import write_report
from triage.config import get_settings
from triage.metrics import cer

LATENCY_CALL = [
    SPEECH_DIR / f"emotiontts_{n}.wav"
    for n in ("lmy02120", "pmc00008", "pfp00004", "pml00009", "neb00201", "nec00101", "pma00006")
]
CAPACITY_P95_S = 5.0


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(float(np.percentile(values, 50)), 3),
        "p95_s": round(float(np.percentile(values, 95)), 3),
    }


def accuracy(server: ServeProcess, speed: float) -> dict[str, Any]:
    rows = read_manifest(SPEECH_DIR)
    streamed_vs_whole, whole_vs_ref, streamed_vs_ref = [], [], []
    for row in rows:
        path = SPEECH_DIR / row["file"]
        whole = server.client.post(
            "/transcribe", files={"file": (path.name, path.read_bytes(), "audio/wav")}, timeout=300
        ).json()["text"]
        pcm, rate = read_pcm(path, silence_s=1.0)
        result = run_call(ws_url(server.url), pcm, rate, speed=speed, api_key=server.api_key)
        streamed = result.summary["transcript"] if result.summary else ""
        streamed_vs_whole.append(cer(whole, streamed))
        whole_vs_ref.append(cer(row["transcript"], whole))
        streamed_vs_ref.append(cer(row["transcript"], streamed))
        print(f"  {row['file']}: streamed vs /transcribe {streamed_vs_whole[-1]:.3f}", flush=True)
    return {
        "clips": len(rows),
        "speed": speed,
        "cer_streamed_vs_transcribe": round(float(np.mean(streamed_vs_whole)), 4),
        "cer_transcribe_vs_reference": round(float(np.mean(whole_vs_ref)), 4),
        "cer_streamed_vs_reference": round(float(np.mean(streamed_vs_ref)), 4),
        "load_avg": load_avg(),
    }


def one_call(server: ServeProcess, silence_s: float) -> dict[str, Any]:
    pcm, rate = call_audio(LATENCY_CALL)
    result = run_call(ws_url(server.url), pcm, rate, speed=1.0, api_key=server.api_key)
    partials = result.of("partial")
    summary = result.summary or {}
    return {
        "call_s": round(len(pcm) / rate, 2),
        "segment_latency": percentiles(result.segment_latencies(silence_s)),
        "alert_delay_s": result.alert_delay(),
        "alert_call_time_s": summary.get("alert_call_time_s"),
        "first_partial_s": round(partials[0]["received_s"], 3) if partials else None,
        "server_timings_ms": summary.get("timings_ms"),
        "load_avg": load_avg(),
    }


def capacity(server: ServeProcess, calls: int, silence_s: float) -> dict[str, Any]:
    pcm, rate = call_audio(LATENCY_CALL)
    results: list[CallResult] = []

    def call(delay: float) -> None:
        time.sleep(delay)
        results.append(
            run_call(ws_url(server.url), pcm, rate, speed=1.0, timeout_s=600, api_key=server.api_key)
        )

    threads = [threading.Thread(target=call, args=(i * 1.0,)) for i in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [x for r in results for x in r.segment_latencies(silence_s)]
    return {
        "calls": calls,
        "segment_latency": percentiles(latencies),
        "without_summary": sum(r.summary is None for r in results),
        "load_avg": load_avg(),
    }


def holds(row: dict[str, Any]) -> bool:
    """Every call summarised and committed-text p95 within the capacity bound."""
    return row["without_summary"] == 0 and row["segment_latency"].get("p95_s", 1e9) <= CAPACITY_P95_S


def fault(server: ServeProcess) -> dict[str, Any]:
    """Kill the Whisper runner mid-call; report the call's end and the time to ready again."""
    pcm, rate = call_audio(LATENCY_CALL)
    holder: list[CallResult] = []
    url = ws_url(server.url)
    thread = threading.Thread(
        target=lambda: holder.append(run_call(url, pcm, rate, speed=1.0, api_key=server.api_key))
    )
    thread.start()
    time.sleep(6)
    victims = [p for p in server.tree() if "whisper" in " ".join(p.cmdline())]
    killed_at = time.monotonic()
    for p in victims:
        os.kill(p.pid, signal.SIGKILL)
    thread.join(600)
    result = holder[0]
    ready_after = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                ready_after = round(time.monotonic() - killed_at, 1)
                break
        except httpx.HTTPError:
            pass
        time.sleep(2)
    errors = result.of("error")
    return {
        "killed_processes": len(victims),
        "close_code": result.close_code,
        "error": errors[0]["code"] if errors else None,
        "summary": result.summary is not None,
        "ready_again_after_s": ready_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=default_home())
    parser.add_argument("--max-calls", type=int, default=12, help="step 1, 2, ... up to this many calls")
    parser.add_argument("--calls", type=int, nargs="+", help="these call counts instead of 1..--max-calls")
    parser.add_argument("--modes", nargs="+", default=["on", "off"], choices=["on", "off"])
    parser.add_argument("--accuracy-speed", type=float, default=4.0)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--fault", action="store_true")
    args = parser.parse_args()
    silence_s = get_settings().call_silence_ms / 1000
    counts = args.calls or list(range(1, args.max_calls + 1))
    report: dict[str, Any] = {
        "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "models": model_summary(args.home),
        "cpus": os.cpu_count(),
        "load_avg": load_avg(),
        "modes": {},
    }
    print(f"models: {report['models']}", flush=True)
    for mode in args.modes:
        env = {"TRIAGE_BATCHING": "1" if mode == "on" else "0", "TRIAGE_CALL_MAX_CONCURRENT": "64"}
        with ServeProcess(args.home, env=env) as server:
            out: dict[str, Any] = {}
            # The whole latency call, fast: enough runner calls for BentoML's dispatchers to
            # train their cost models (each runner's first 11 calls) before anything is timed.
            run_call(ws_url(server.url), *call_audio(LATENCY_CALL), speed=4, api_key=server.api_key)
            if mode == "on" and not args.skip_accuracy:
                out["accuracy"] = accuracy(server, args.accuracy_speed)
                print(f"[{mode}] accuracy {out['accuracy']}", flush=True)
            if mode == "on":
                out["one_call"] = one_call(server, silence_s)
                print(f"[{mode}] one call {out['one_call']}", flush=True)
            out["capacity"] = []
            for n in counts:
                row = capacity(server, n, silence_s)
                out["capacity"].append(row)
                print(f"[{mode}] {row}", flush=True)
                if not holds(row):
                    break
            out["capacity_calls"] = max((r["calls"] for r in out["capacity"] if holds(r)), default=0)
            if mode == "on" and args.fault:
                out["fault"] = fault(server)
                print(f"[{mode}] fault {out['fault']}", flush=True)
            report["modes"][mode] = out
    capacities = {m: report["modes"][m]["capacity_calls"] for m in report["modes"]}
    report["capacity_calls"] = capacities
    if capacities.get("off"):
        report["capacity_ratio_on_off"] = round(capacities.get("on", 0) / capacities["off"], 2)
    print(
        f"capacity (calls with committed-text p95 <= {CAPACITY_P95_S:g} s): {capacities}, "
        f"on/off {report.get('capacity_ratio_on_off')}",
        flush=True,
    )
    write_report("bench_calls", report)


if __name__ == "__main__":
    main()
