"""Soak: a long mixed load on one real server, watching memory, file descriptors and temp files.

    .venv/bin/python -m benchmarks.soak --home /tmp/default-store --duration 1800 \\
        --users analyze=1 classify_text=2 ec_correct=1 calls=1

Serves ``service:Triage`` (keys required, audit trail to a private file, a private TMPDIR),
warms every endpoint up, then runs closed-loop clients per endpoint (asyncio + httpx, the
server's own key, the real bodies of :mod:`loadtest.payloads`) for ``--duration`` seconds;
``calls=N`` adds N live callers (``WS /calls``, one real-time call after another of three
development clips with pauses, as Locust's ``LiveCallUser``): a call is served when it ends
with a ``summary``, and its p50/p95 are the committed-text latencies of its segments.
Pick the user counts as the highest that keep p95 under the target (issue 17: 5 s); the
report says whether they did. Reported, as a Markdown table:

- requests served per endpoint, 4xx refusals and errors (5xx or no answer), p50 and p95;
- RSS of every process of the server (API worker, each runner, the arbiter) when it is ready
  (before any request), at the start (after the warm-up requests), the middle and the end, and
  the growth from start to end;
- open file descriptors of every process at the start and the end;
- entries left in the server's TMPDIR and in BentoML's temp folder, and audit lines written.

A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import psutil

from harness.call_client import call_audio, run_call, ws_url
from harness.server import ServeProcess, default_home, model_summary, process_role
from harness.shared_audio import SPEECH_DIR
from loadtest.payloads import ENDPOINTS, cycle, warm_up
from triage.config import get_settings

CALLS = "calls"
CALL_CLIPS = ("emotiontts_lmy02120.wav", "emotiontts_pmc00008.wav", "emotiontts_pml00009.wav")


def snapshot(server: ServeProcess) -> dict[str, tuple[float, int]]:
    """Per process name: (RSS MiB, open file descriptors)."""
    out: dict[str, tuple[float, int]] = {}
    tree = server.tree()
    for p in tree:
        try:
            name = process_role(p, tree[0].pid)
            key = name if name not in out else f"{name} ({p.pid})"
            out[key] = (p.memory_info().rss / 2**20, p.num_fds())
        except psutil.Error:
            continue
    return out


async def drive(server: ServeProcess, users: dict[str, int], duration_s: float, middle: list) -> dict:
    """Closed-loop clients until the deadline; the middle snapshot is taken halfway."""
    results: dict[str, dict] = defaultdict(lambda: {"ok": [], "refused": 0, "errors": 0, "samples": []})
    deadline = time.monotonic() + duration_s
    limits = httpx.Limits(max_connections=sum(users.values()) + 2)
    async with httpx.AsyncClient(
        base_url=server.url, timeout=300, limits=limits, headers=server.auth_headers
    ) as client:

        async def user(endpoint: str, i: int) -> None:
            path = ENDPOINTS[endpoint][0]
            bodies = cycle(endpoint, i)
            record = results[endpoint]
            while time.monotonic() < deadline:
                body = next(bodies)
                t0 = time.monotonic()
                try:
                    r = await client.post(
                        path, content=body.data, headers={"Content-Type": body.content_type}
                    )
                    status, why = r.status_code, r.text[:120]
                except httpx.HTTPError as exc:
                    status, why = 0, f"{type(exc).__name__}: {exc}"[:120]
                if status == 200:
                    record["ok"].append((time.monotonic() - t0) * 1000)
                elif 400 <= status < 500:
                    record["refused"] += 1
                else:
                    record["errors"] += 1
                if status != 200 and len(record["samples"]) < 3:
                    record["samples"].append(f"{status} {why}")

        async def caller(i: int) -> None:
            pcm, rate = call_audio([SPEECH_DIR / name for name in CALL_CLIPS])
            silence_s = get_settings().call_silence_ms / 1000
            record = results[CALLS]
            record["served"] = 0
            while time.monotonic() < deadline:
                try:
                    call = await asyncio.to_thread(
                        run_call, ws_url(server.url), pcm, rate, speed=1.0, api_key=server.api_key
                    )
                except Exception as exc:  # noqa: BLE001 - a refused handshake or a dropped socket
                    record["errors"] += 1
                    if len(record["samples"]) < 3:
                        record["samples"].append(f"{type(exc).__name__}: {exc}"[:120])
                    continue
                if call.summary is not None:
                    record["served"] += 1
                    record["ok"] += [s * 1000 for s in call.segment_latencies(silence_s)]
                else:
                    record["errors"] += 1
                    errors = call.of("error")
                    if len(record["samples"]) < 3:
                        why = errors[0]["code"] if errors else "no summary"
                        record["samples"].append(f"close {call.close_code}: {why}")

        async def halfway() -> None:
            await asyncio.sleep(duration_s / 2)
            middle.append(snapshot(server))

        await asyncio.gather(
            halfway(),
            *(caller(i) if e == CALLS else user(e, i) for e, n in users.items() for i in range(n)),
        )
    return results


def temp_entries(dirs: list[Path]) -> set[str]:
    return {str(p) for d in dirs if d.is_dir() for p in d.rglob("*")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the default models")
    parser.add_argument("--duration", type=float, default=1800, help="seconds of load (issue 17: 1800)")
    parser.add_argument(
        "--users",
        nargs="+",
        default=["analyze=1", "classify_text=2", "ec_correct=1"],
        help="endpoint=closed-loop users (endpoints: " + ", ".join([*ENDPOINTS, CALLS]) + ")",
    )
    parser.add_argument("--p95-target-ms", type=float, default=5000)
    parser.add_argument("--warmup", type=int, default=12, help="sequential requests per endpoint first")
    args = parser.parse_args()
    users = {k: int(v) for k, v in (u.split("=", 1) for u in args.users)}
    home = args.home or default_home()
    work = Path(tempfile.mkdtemp(prefix="triage-soak-"))
    tmpdir, audit = work / "tmp", work / "audit.jsonl"
    tmpdir.mkdir()
    print(f"models: {model_summary(home)}; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    env = {"TMPDIR": str(tmpdir), "TRIAGE_AUDIT_LOG": str(audit)}
    try:
        with ServeProcess(home, env) as server:
            temp_dirs = [tmpdir, home / "tmp"]
            print(f"server ready in {server.ready_s:.0f} s; warming up", flush=True)
            ready = snapshot(server)
            warm_up(server.url, [e for e in users if e != CALLS], args.warmup, server.api_key)
            temp_before = temp_entries(temp_dirs)
            start = snapshot(server)
            middle: list = []
            print(f"load: {users} for {args.duration:.0f} s", flush=True)
            results = asyncio.run(drive(server, users, args.duration, middle))
            end = snapshot(server)
            left = temp_entries(temp_dirs) - temp_before
            audited = sum(1 for _ in audit.open(encoding="utf-8")) if audit.exists() else 0
        report(results, ready, start, middle[0] if middle else {}, end, left, audited, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(
    results: dict, ready: dict, start: dict, middle: dict, end: dict, left: set, audited: int, args
) -> None:
    print(f"\n### Soak: {args.duration / 60:.0f} min, {os.cpu_count()} CPUs\n")
    print("| endpoint | served | 4xx | errors | req/s | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total = 0
    worst_p95 = 0.0
    for endpoint, r in sorted(results.items()):
        ok = r["ok"]
        served = r.get("served", len(ok))  # calls: calls served; ok holds their segments' latencies
        p50, p95 = (float(x) for x in np.percentile(ok, [50, 95])) if ok else (float("nan"),) * 2
        worst_p95 = max(worst_p95, p95 if ok else 0.0)
        total += served + r["refused"] + r["errors"]
        print(
            f"| {endpoint} | {served} | {r['refused']} | {r['errors']} | {served / args.duration:.2f} "
            f"| {p50:.0f} | {p95:.0f} |"
        )
        for sample in r["samples"]:
            print(f"|  | {sample} | | | | | |")
    print("\n| process | RSS ready MiB | start | middle | end | growth start-end | fds start | fds end |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (rss0, fd0) in sorted(start.items()):
        before = ready.get(name, (float("nan"), 0))[0]
        rss1 = middle.get(name, (float("nan"), 0))[0]
        rss2, fd2 = end.get(name, (float("nan"), 0))
        print(
            f"| {name} | {before:.0f} | {rss0:.0f} | {rss1:.0f} | {rss2:.0f} | {(rss2 / rss0 - 1):+.1%} "
            f"| {fd0} | {fd2} |"
        )
    print(f"\nrequests sent: {total}; audit lines: {audited} (warm-up included)")
    verdict = "within" if worst_p95 <= args.p95_target_ms else "OVER"
    print(f"p95 {verdict} the {args.p95_target_ms:.0f} ms target")
    print(f"left in temp folders: {sorted(left) or 'nothing'}")


if __name__ == "__main__":
    main()
