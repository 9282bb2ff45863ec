"""Serve the graph, run Locust headless against it, write CSV and HTML reports, stop the server.

    .venv/bin/python -m loadtest.run_locust --home /tmp/default-store \\
        --users 4 --spawn-rate 4 --run-time 5m AnalyzeUser

Starts ``bentoml serve service:Triage`` on a free loopback port with the models of
``--home`` (default ``$BENTOML_HOME`` or ``~/bentoml``; ``make models`` fills the latter),
waits for ``/readyz``, warms each endpoint up (``--warmup``), runs ``locust --headless``
with a fixed user count, spawn rate and duration, and writes
``loadtest/reports/<name>_stats.csv`` (and ``_failures``, ``_stats_history``,
``_exceptions``) and ``<name>.html``. The server is stopped through
its process id however the run ends. ``--url`` skips the server and loads a running one.
Exits with Locust's status: non-zero when any request failed (status other than 200).
Locust sends the started server's own key; with ``--url``, set ``TRIAGE_API_KEY``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.server import (
    MemorySampler,
    ServeProcess,
    config_path,
    default_home,
    model_summary,
)
from loadtest.payloads import API_KEY_ENV, REPO, REPORTS, warm_up

USER_CLASSES = [
    "AnalyzeUser",
    "TranscribeUser",
    "ClassifyTextUser",
    "ClassifyAudioUser",
    "CorrectUser",
    "LiveCallUser",
]
ENDPOINT_OF = {
    "AnalyzeUser": "analyze",
    "TranscribeUser": "transcribe",
    "ClassifyTextUser": "classify_text",
    "ClassifyAudioUser": "classify_audio",
    "CorrectUser": "ec_correct",
    "LiveCallUser": "transcribe",  # a call decodes with Whisper: warm it up like /transcribe
}


def run_locust(
    url: str,
    classes: list[str],
    users: int,
    spawn_rate: float,
    run_time: str,
    name: str,
    reports: Path = REPORTS,
    api_key: str | None = None,
) -> tuple[int, Path]:
    """Run Locust headless against ``url``; returns its exit status and the stats CSV path."""
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / name
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "loadtest" / "locustfile.py"),
        "--host",
        url,
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        run_time,
        "--stop-timeout",
        "120",
        "--csv",
        str(prefix),
        "--html",
        f"{prefix}.html",
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    print("$", " ".join(command[2:]), flush=True)
    env = {**os.environ, API_KEY_ENV: api_key} if api_key else None
    status = subprocess.run(command, cwd=REPO, env=env, check=False).returncode
    return status, Path(f"{prefix}_stats.csv")


def summarize(stats_csv: Path) -> list[dict[str, str]]:
    """The per-endpoint rows of Locust's stats CSV (plus its ``Aggregated`` row)."""
    with stats_csv.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def print_summary(rows: list[dict[str, str]]) -> None:
    print(
        f"{'endpoint':<18}{'requests':>9}{'failures':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for r in rows:
        print(
            f"{r['Name']:<18}{r['Request Count']:>9}{r['Failure Count']:>9}{float(r['Requests/s']):>8.2f}"
            f"{r['50%']:>9}{r['95%']:>9}{r['99%']:>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "classes", nargs="*", default=USER_CLASSES, help=f"user classes ({', '.join(USER_CLASSES)})"
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the default models")
    parser.add_argument("--url", help="load this running server instead of starting one")
    parser.add_argument("-u", "--users", type=int, default=4)
    parser.add_argument("-r", "--spawn-rate", type=float, default=4)
    parser.add_argument("-t", "--run-time", default="60s", help="Locust duration (30s, 5m, ...)")
    parser.add_argument("--name", help="report file prefix (default: classes, users, time)")
    parser.add_argument(
        "--warmup", type=int, default=12, help="sequential requests per endpoint before the load (0: none)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra server environment, e.g. TRIAGE_BATCHING=0 or TRIAGE_WHISPER_ENGINE=openai",
    )
    parser.add_argument(
        "--bentoml-config",
        type=config_path,
        default=None,
        help="BENTOML_CONFIG YAML for the server (e.g. workers/threads overrides per runner; default none)",
    )
    args = parser.parse_args()
    unknown = set(args.classes) - set(USER_CLASSES)
    if unknown:
        parser.error(f"unknown user classes: {', '.join(sorted(unknown))}")
    classes = "-".join(c.removesuffix("User").lower() for c in args.classes)
    name = args.name or f"{classes}_u{args.users}_{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)

    if args.url:
        status, stats = run_locust(args.url, args.classes, args.users, args.spawn_rate, args.run_time, name)
        print_summary(summarize(stats))
        raise SystemExit(status)

    home = args.home or default_home()
    env = dict(item.split("=", 1) for item in args.env)
    print(f"models: {model_summary(home)}", flush=True)
    print(f"BENTOML_CONFIG: {args.bentoml_config or '(none)'}", flush=True)
    with ServeProcess(home, env, bentoml_config=args.bentoml_config) as server:
        print(
            f"server ready at {server.url} in {server.ready_s:.0f} s (pid {server.process.pid})", flush=True
        )
        warm_up(server.url, [ENDPOINT_OF[c] for c in args.classes], args.warmup, server.api_key)
        with MemorySampler(server) as memory:
            status, stats = run_locust(
                server.url,
                args.classes,
                args.users,
                args.spawn_rate,
                args.run_time,
                name,
                api_key=server.api_key,
            )
    print_summary(summarize(stats))
    rss, pss = memory.peak_rss / 2**20, memory.peak_pss / 2**20
    print(f"peak server memory: RSS sum {rss:.0f} MiB, PSS sum {pss:.0f} MiB")
    print(f"load average after: {os.getloadavg()[0]:.2f}; reports: {REPORTS}/{name}_*.csv, {name}.html")
    raise SystemExit(status)


if __name__ == "__main__":
    main()
