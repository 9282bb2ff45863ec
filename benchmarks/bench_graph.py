"""Whole-graph benchmark over HTTP: adaptive batching on against off, and the two Whisper engines.

    .venv/bin/python -m benchmarks.bench_graph --home /tmp/default-store \\
        [--users 32] [--duration 30] [--endpoints classify_text classify_audio ...] \\
        [--modes on off] [--engines ctranslate2 openai] [--engine-users 4]

In one run on one machine it serves ``service:Triage`` once per configuration, one server
after the other (``TRIAGE_BATCHING=1``, then ``0``, then ``TRIAGE_WHISPER_ENGINE=openai``:
configuration, not code edits), and for each endpoint drives N closed-loop clients
(asyncio + httpx, no think time, loopback only) sending the real clips and texts of
:mod:`loadtest.payloads` for a fixed duration after a short warm-up. Per endpoint it prints
throughput (successful requests completed in the window / window), p50, p95, p99 latency of
those and the error count (any status other than 200, or no answer), side by side for batching on and off with
the on/off ratios; the mean batch size each runner actually formed (from ``/metrics``); the
Whisper engines on ``/transcribe``; and the peak memory of every server's process tree
(RSS summed over processes, as asked, and PSS, which does not count shared pages twice).
Results are also written as JSON under ``loadtest/reports/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

from harness.server import (
    MemorySampler,
    ServeProcess,
    config_path,
    default_home,
    model_summary,
)
from loadtest.payloads import ENDPOINTS, cycle, warm_up, write_report

SPEECH = {"transcribe", "analyze"}
"""Endpoints that run Whisper: driven with ``--speech-users`` rather than ``--users``."""
BATCH_METRIC = re.compile(
    r"^bentoml_service_adaptive_batch_size_(sum|count)\{([^}]*)\}\s+([0-9.eE+-]+)$", re.MULTILINE
)


@dataclass
class Result:
    """One endpoint at one concurrency on one server configuration."""

    config: str
    endpoint: str
    users: int
    duration_s: float
    requests: int = 0
    errors: int = 0
    throughput: float = 0.0
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    p99_ms: float = float("nan")
    mean_batch: dict[str, float] = field(default_factory=dict)
    load_avg: float = 0.0
    error_samples: list[str] = field(default_factory=list)


def batch_counters(url: str) -> dict[str, tuple[float, float]]:
    """``{runner method: (sum, count)}`` of BentoML's adaptive batch size histogram."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    out: dict[str, list[float]] = {}
    for kind, labels, value in BATCH_METRIC.findall(text):
        service = re.search(r'service_name="([^"]*)"', labels)
        method = re.search(r'method_name="([^"]*)"', labels)
        key = f"{service.group(1) if service else '?'}.{method.group(1) if method else '?'}"
        pair = out.setdefault(key, [0.0, 0.0])
        pair[0 if kind == "sum" else 1] += float(value)
    return {k: (v[0], v[1]) for k, v in out.items()}


async def drive(
    url: str,
    endpoint: str,
    users: int,
    duration_s: float,
    warmup_s: float,
    timeout_s: float,
    headers: dict[str, str],
) -> tuple[list[float], int, int, list[str]]:
    """Closed-loop clients for ``warmup_s + duration_s``; returns the window's latencies and errors.

    Only requests that complete inside the measurement window count. After it, no new
    request starts and those in flight are awaited (not counted), so the next run finds
    an idle server.
    """
    path = ENDPOINTS[endpoint][0]
    latencies: list[float] = []
    errors = 0
    completed = 0
    samples: list[str] = []
    start = time.monotonic()
    window_start, window_end = start + warmup_s, start + warmup_s + duration_s
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits, headers=headers) as client:

        async def user(i: int) -> None:
            nonlocal errors, completed
            bodies = cycle(endpoint, i)
            while time.monotonic() < window_end:
                body = next(bodies)
                t0 = time.monotonic()
                try:
                    r = await client.post(
                        path, content=body.data, headers={"Content-Type": body.content_type}
                    )
                    ok, why = r.status_code == 200, f"HTTP {r.status_code}: {r.text[:120]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"[:160]
                t1 = time.monotonic()
                if window_start <= t1 <= window_end:
                    completed += 1
                    if ok:
                        latencies.append((t1 - t0) * 1000)
                    else:
                        errors += 1
                        if len(samples) < 3:
                            samples.append(why)

        await asyncio.gather(*(user(i) for i in range(users)))
    return latencies, completed, errors, samples


def measure(server: ServeProcess, config: str, endpoint: str, users: int, args: argparse.Namespace) -> Result:
    before = batch_counters(server.url)
    load = os.getloadavg()[0]
    latencies, completed, errors, samples = asyncio.run(
        drive(server.url, endpoint, users, args.duration, args.warmup, args.timeout, server.auth_headers)
    )
    after = batch_counters(server.url)
    result = Result(config, endpoint, users, args.duration, completed, errors, len(latencies) / args.duration)
    result.load_avg = load
    result.error_samples = samples
    if latencies:
        result.p50_ms, result.p95_ms, result.p99_ms = (
            float(x) for x in np.percentile(latencies, [50, 95, 99])
        )
    for key, (s, c) in after.items():
        s0, c0 = before.get(key, (0.0, 0.0))
        if c - c0 > 0:
            result.mean_batch[key] = round((s - s0) / (c - c0), 2)
    print(
        f"  {config:<14} {endpoint:<15} u={users:<3} {result.throughput:7.2f} req/s  p50 {result.p50_ms:8.0f}"
        f"  p95 {result.p95_ms:8.0f}  p99 {result.p99_ms:8.0f} ms  errors {errors:<4} load {load:.2f}"
        f"  batch {result.mean_batch}",
        flush=True,
    )
    for s in samples:
        print(f"    error: {s}", flush=True)
    return result


WARM_UP_REQUESTS = 12
"""Sequential requests per endpoint before any measurement. BentoML's adaptive-batching
dispatcher learns its cost model from a runner's first 11 calls, and two of those wait on
purpose for a second request (up to ``5 a + b`` and ``7 a + b`` seconds, with ``a`` and ``b``
the per-item and fixed cost it measured: seconds for Whisper); measured later they would be
counted as steady-state latency."""


def run_config(
    home: Path, config: str, env: dict[str, str], plan: list[tuple[str, int]], args: argparse.Namespace
) -> tuple[list[Result], dict[str, float]]:
    print(f"== {config}: {env}", flush=True)
    with (
        ServeProcess(home, env, bentoml_config=args.bentoml_config) as server,
        MemorySampler(server) as memory,
    ):
        print(f"  ready in {server.ready_s:.0f} s", flush=True)
        warm_up(server.url, sorted({e for e, _ in plan}), WARM_UP_REQUESTS, server.api_key)
        results = [measure(server, config, endpoint, users, args) for endpoint, users in plan]
    mem = {"peak_rss_mib": memory.peak_rss / 2**20, "peak_pss_mib": memory.peak_pss / 2**20}
    print(
        f"  peak memory: RSS sum {mem['peak_rss_mib']:.0f} MiB, PSS sum {mem['peak_pss_mib']:.0f} MiB",
        flush=True,
    )
    for role, peaks in sorted(memory.by_process.items()):
        mib = {k: v / 2**20 for k, v in peaks.items()}
        mem[f"{role}_pss_mib"] = mib["pss"]
        print(f"    {role:<20} peak RSS {mib['rss']:6.0f}  PSS {mib['pss']:6.0f}  USS {mib['uss']:6.0f} MiB")
    return results, mem


def fmt(x: float, digits: int = 0) -> str:
    return "-" if x != x else f"{x:.{digits}f}"  # NaN -> "-"


def print_comparison(results: list[Result], a: str, b: str, title: str) -> None:
    """``a`` and ``b`` side by side per (endpoint, users), with throughput and p95 ratios a/b."""
    index = {(r.config, r.endpoint, r.users): r for r in results}
    keys = sorted({(r.endpoint, r.users) for r in results if r.config in (a, b)}, key=lambda k: (k[0], k[1]))
    print(f"\n{title}")
    head = (
        f"{'endpoint':<15}{'users':>6} | "
        + " | ".join(f"{c:^40}" for c in (a, b))
        + " | ratio rps  ratio p95"
    )
    print(head)
    print(
        f"{'':<21} | "
        + " | ".join(f"{'req/s':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'err':>5}   " for _ in (a, b))
        + " |"
    )
    for endpoint, users in keys:
        ra, rb = index.get((a, endpoint, users)), index.get((b, endpoint, users))
        cells = []
        for r in (ra, rb):
            if r is None:
                cells.append(f"{'n/a':^40}")
            else:
                latency = f"{fmt(r.p50_ms):>8}{fmt(r.p95_ms):>8}{fmt(r.p99_ms):>8}"
                cells.append(f"{r.throughput:7.2f}{latency}{r.errors:>5}   ")
        ratio = p95 = "-"
        if ra and rb and rb.throughput > 0:
            ratio = f"{ra.throughput / rb.throughput:.2f}x"
        if ra and rb and rb.p95_ms == rb.p95_ms and rb.p95_ms > 0:
            p95 = f"{ra.p95_ms / rb.p95_ms:.2f}x"
        print(f"{endpoint:<15}{users:>6} | " + " | ".join(cells) + f" | {ratio:>9}  {p95:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the default models")
    parser.add_argument("--endpoints", nargs="+", default=list(ENDPOINTS), choices=list(ENDPOINTS))
    parser.add_argument(
        "--users",
        type=int,
        nargs="+",
        default=[32],
        help="concurrency levels for the classifiers and corrector",
    )
    parser.add_argument(
        "--speech-users",
        type=int,
        nargs="+",
        default=[4],
        help="concurrency levels for /transcribe and /analyze (Whisper takes seconds per clip on a CPU)",
    )
    parser.add_argument("--duration", type=float, default=30, help="measured seconds per run (max 600)")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds before each window")
    parser.add_argument("--timeout", type=float, default=300, help="client timeout per request, s")
    parser.add_argument("--modes", nargs="+", default=["on", "off"], choices=["on", "off"])
    parser.add_argument(
        "--engines",
        nargs="*",
        default=["ctranslate2", "openai"],
        choices=["ctranslate2", "openai"],
        help="Whisper engines compared on /transcribe (batching on); none to skip",
    )
    parser.add_argument(
        "--engine-users", type=int, nargs="+", default=[1, 4], help="concurrency for the engines"
    )
    parser.add_argument(
        "--full-context",
        action="store_true",
        help="also serve with Whisper's full 30-s encoder context (TRIAGE_WHISPER_SHORT_CONTEXT=0, "
        "the code path before the short context), batching on, and compare it with batching-on",
    )
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server env")
    parser.add_argument(
        "--bentoml-config",
        type=config_path,
        default=None,
        help="BENTOML_CONFIG YAML for the servers (e.g. workers/threads overrides per runner; default none)",
    )
    args = parser.parse_args()
    if args.duration > 600 or max(args.users + args.speech_users + args.engine_users) > 256:
        parser.error("bounded: --duration <= 600 s, users <= 256")
    home = args.home or default_home()
    extra = dict(item.split("=", 1) for item in args.env)
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), {mem_gib:.0f} GiB; load average {os.getloadavg()}")
    print(f"models: {model_summary(home)}")
    print(f"BENTOML_CONFIG: {args.bentoml_config or '(none)'}")
    print(
        f"users {args.users} (speech endpoints {args.speech_users}), {args.duration:.0f} s measured"
        f" after {args.warmup:.0f} s warm-up per run\n",
        flush=True,
    )

    results: list[Result] = []
    memory: dict[str, dict[str, float]] = {}
    plan = [(e, u) for e in args.endpoints for u in (args.speech_users if e in SPEECH else args.users)]
    for mode in args.modes:
        config = f"batching-{mode}"
        env = {
            **extra,
            "TRIAGE_BATCHING": "1" if mode == "on" else "0",
            "TRIAGE_WHISPER_ENGINE": "ctranslate2",
        }
        res, memory[config] = run_config(home, config, env, plan, args)
        results += res
    if args.full_context:
        env = {**extra, "TRIAGE_BATCHING": "1", "TRIAGE_WHISPER_ENGINE": "ctranslate2"}
        env["TRIAGE_WHISPER_SHORT_CONTEXT"] = "0"
        res, memory["full-context"] = run_config(home, "full-context", env, plan, args)
        results += res
    for engine in args.engines:
        config = f"whisper-{engine}"
        env = {**extra, "TRIAGE_BATCHING": "1", "TRIAGE_WHISPER_ENGINE": engine}
        res, memory[config] = run_config(
            home, config, env, [("transcribe", u) for u in args.engine_users], args
        )
        results += res

    if {"batching-on", "batching-off"} <= {r.config for r in results}:
        print_comparison(
            results, "batching-on", "batching-off", "Adaptive batching on vs off (latencies in ms)"
        )
    if args.full_context and "on" in args.modes:
        print_comparison(
            results,
            "batching-on",
            "full-context",
            "Whisper short encoder context vs the full 30-s context, batching on (latencies in ms)",
        )
    if len(args.engines) == 2:
        print_comparison(
            results,
            "whisper-ctranslate2",
            "whisper-openai",
            "Whisper engines on /transcribe, batching on (latencies in ms)",
        )
    print("\nmean batch size formed by each runner (batching on):")
    for r in results:
        if r.config != "batching-off" and r.mean_batch:
            print(f"  {r.config:<20} {r.endpoint:<15} u={r.users:<3} {r.mean_batch}")
    print("\npeak memory of the serving process tree:")
    for config, m in memory.items():
        print(f"  {config:<20} RSS sum {m['peak_rss_mib']:6.0f} MiB   PSS sum {m['peak_pss_mib']:6.0f} MiB")
    print(f"\nload average at the end: {os.getloadavg()}")

    write_report(
        "bench_graph",
        {
            "args": {k: str(v) for k, v in vars(args).items()},
            "models": model_summary(home),
            "machine": {"cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_gib, 1)},
            "results": [asdict(r) for r in results],
            "memory": memory,
        },
    )


if __name__ == "__main__":
    main()
