"""The cost of the hop: the API with its runners in-graph against the same runners reached by URL.

    .venv/bin/python -m benchmarks.bench_topology --home /tmp/default-store \\
        [--endpoints analyze classify_text classify_audio ec_correct] [--users 1 8] \\
        [--speech-users 1 2] [--duration 20]

Both wirings are up at once on this machine: ``bentoml serve service:Triage`` (runners in-graph,
pickle over the arbiter's local sockets) and the topology of ``deploy/`` (each runner its own
``bentoml serve runners.<model>:<Class>``, the API wired by ``TRIAGE_<MODEL>_URL``: JSON over
HTTP, audio as base64 16-bit PCM). On a shared machine the load of other processes swings from
one window to the next, so each endpoint and concurrency is measured in ``--rounds`` short
windows per wiring, alternating which wiring goes first, and the latencies of all rounds are
pooled. Per row: throughput, p50/p95/p99 latency and errors of each wiring and the by-URL /
in-graph ratios (the ``bench_graph`` closed-loop driver, the same request bodies as the load
tests). At one user the p50 difference is the hop itself; at more users the throughput ratio
says what the hop costs a loaded service. Then ``--share-calls`` sequential ``/analyze`` calls on
the by-URL API measure the CPU seconds each runner process spends per call and its RSS: the
figures that say which runner to scale first and how many calls a replica takes (docs/DEPLOY.md).
Results are also written as JSON under ``loadtest/reports/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import psutil

from benchmarks.bench_graph import WARM_UP_REQUESTS, Result, drive, print_comparison
from harness.server import ServeProcess, default_home, model_summary
from harness.topology import Topology, start_all
from loadtest.payloads import warm_up, write_report

ENDPOINTS = ["analyze", "classify_text", "classify_audio", "ec_correct"]
SPEECH = {"analyze", "transcribe"}


def finish(result: Result, latencies: list[float]) -> None:
    """Throughput and percentiles of the pooled windows, printed as one row."""
    result.throughput = len(latencies) / result.duration_s
    if latencies:
        result.p50_ms, result.p95_ms, result.p99_ms = (
            float(x) for x in np.percentile(latencies, [50, 95, 99])
        )
    print(
        f"  {result.config:<9} {result.endpoint:<15} u={result.users:<3} {result.throughput:7.2f} req/s"
        f"  p50 {result.p50_ms:7.0f}  p95 {result.p95_ms:7.0f}  p99 {result.p99_ms:7.0f} ms"
        f"  errors {result.errors}  load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for sample in result.error_samples:
        print(f"    error: {sample}", flush=True)


def tree_cpu_s(server: ServeProcess) -> float:
    """CPU seconds (user + system) used so far by a server's whole process tree."""
    total = 0.0
    for p in server.tree():
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def tree_rss_mib(server: ServeProcess) -> float:
    total = 0
    for p in server.tree():
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def runner_share(topology: Topology, calls: int) -> dict[str, dict[str, float]]:
    """CPU seconds each runner spends per ``/analyze`` (sequential calls on the by-URL API), and its RSS.

    This is what sizes the deployment: a replica with ``c`` cores sustains about ``c / cpu_s``
    analyses a second, so the runner with the largest ``cpu_s`` is the one to scale first.
    """
    api = topology.apis[0]
    processes = {**topology.runners, "api": api}
    before = {name: tree_cpu_s(p) for name, p in processes.items()}
    warm_up(api.url, ["analyze"], calls, api.api_key)
    used = {name: tree_cpu_s(p) - before[name] for name, p in processes.items()}
    total = sum(used.values()) or 1.0
    print(f"\nCPU per /analyze by process ({calls} sequential calls, one speech clip), and RSS:")
    share = {}
    for name, cpu in sorted(used.items(), key=lambda kv: -kv[1]):
        share[name] = {
            "cpu_s_per_call": round(cpu / calls, 3),
            "share": round(cpu / total, 3),
            "rss_mib": round(tree_rss_mib(processes[name]), 0),
        }
        print(
            f"  {name:<17} {cpu / calls:6.3f} CPU-s/call  {100 * cpu / total:5.1f} %"
            f"  RSS {share[name]['rss_mib']:5.0f} MiB"
        )
    return share


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the default models")
    parser.add_argument(
        "--endpoints",
        nargs="*",
        default=ENDPOINTS,
        choices=[*ENDPOINTS, "transcribe"],
    )
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8], help="classifier/corrector users")
    parser.add_argument("--speech-users", type=int, nargs="+", default=[1, 2], help="/analyze users")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per run (max 600)")
    parser.add_argument("--rounds", type=int, default=3, help="windows per wiring, alternating order")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each window")
    parser.add_argument("--timeout", type=float, default=300, help="client timeout per request, s")
    parser.add_argument(
        "--share-calls", type=int, default=10, help="sequential /analyze calls for the per-runner CPU split"
    )
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server env")
    args = parser.parse_args()
    if args.duration > 600 or max(args.users + args.speech_users) > 256:
        parser.error("bounded: --duration <= 600 s, users <= 256")
    home = args.home or default_home()
    env = dict(item.split("=", 1) for item in args.env)
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()}")
    print(f"models: {model_summary(home)}", flush=True)

    in_graph = ServeProcess(home, env)
    topology = Topology(home, env)
    results: list[Result] = []
    share: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    try:
        start_all([in_graph, *topology.runners.values()])
        start_all(topology.apis)
        servers = {"in-graph": in_graph, "by-url": topology.apis[0]}
        print(f"both wirings ready in {time.monotonic() - started:.0f} s", flush=True)
        for server in servers.values():
            warm_up(server.url, args.endpoints, WARM_UP_REQUESTS, server.api_key)
        for endpoint in args.endpoints:
            for users in args.speech_users if endpoint in SPEECH else args.users:
                pooled = {
                    name: Result(name, endpoint, users, args.duration * args.rounds) for name in servers
                }
                latencies: dict[str, list[float]] = {name: [] for name in servers}
                for r in range(args.rounds):
                    for name in list(servers)[:: 1 if r % 2 == 0 else -1]:
                        lat, completed, errors, samples = asyncio.run(
                            drive(
                                servers[name].url,
                                endpoint,
                                users,
                                args.duration,
                                args.warmup,
                                args.timeout,
                                servers[name].auth_headers,
                            )
                        )
                        latencies[name] += lat
                        pooled[name].requests += completed
                        pooled[name].errors += errors
                        pooled[name].error_samples += samples[: 3 - len(pooled[name].error_samples)]
                for name, result in pooled.items():
                    finish(result, latencies[name])
                    results.append(result)
        share = runner_share(topology, args.share_calls) if args.share_calls else {}
    finally:
        in_graph.stop()
        topology.stop()

    print_comparison(
        results, "by-url", "in-graph", "By URL vs in-graph (latencies in ms; ratios by-url/in-graph)"
    )
    print(f"\nload average at the end: {os.getloadavg()}")
    write_report(
        "bench_topology",
        {
            "args": {k: str(v) for k, v in vars(args).items()},
            "models": model_summary(home),
            "results": [asdict(r) for r in results],
            "runner_share": share,
        },
    )


if __name__ == "__main__":
    main()
