"""What authentication and the audit trail cost per request over HTTP: two real servers, one run.

    .venv/bin/python -m benchmarks.bench_security_http --home <test-profile store> [--rounds 8]

Starts two ``bentoml serve service:Triage`` on the same model store:

- ``served``: as deployed: API keys checked (a key file of 10 keys), the audit trail appended
  to a file, the per-key rate limit and the failed-authentication limit on (the per-key rate
  set high enough that the sequential load never meets it, so every request is served);
- ``auth off``: ``TRIAGE_AUTH=0``, both limits off, the audit trail to ``/dev/null`` (there is
  no setting that turns the audit off: its line is still built, only not written to a file).

Then alternates short windows of sequential requests (one keep-alive connection per server,
the same bytes to both) to cheap endpoints, so load changes on a shared machine hit both
alike: ``/classify/text`` with one short sentence, ``/ec/correct`` with one short segment,
``/classify/text`` with an empty sentence (refused with 422 by the API before any model, so the
API process and its middleware alone), and ``/healthz`` as a control (neither authenticated nor
audited on either server). The model endpoints also carry the difference between the two
servers' own runner processes, which can exceed the middleware's cost. Prints per endpoint the
median per-request latency on each server, their difference and ratio, and the median of the
per-window ratios.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.server import ServeProcess, default_home, model_summary
from harness.topology import start_all
from triage.security.keys import add_key

SENTENCE = "불이 났어요 빨리 와 주세요"


@dataclass(frozen=True)
class Probe:
    """One kind of request: what is sent, and the status both servers must answer."""

    path: str
    body: bytes  # empty: a GET
    status: int = 200


PROBES = {
    "/classify/text": Probe(
        "/classify/text", json.dumps({"sentences": [SENTENCE]}, ensure_ascii=False).encode()
    ),
    "/ec/correct": Probe(
        "/ec/correct",
        json.dumps(
            {
                "request_id": "overhead-1",
                "model_version": "whisper-base",
                "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": SENTENCE, "confidence": 0.6}],
            },
            ensure_ascii=False,
        ).encode(),
    ),
    "/classify/text 422, no model": Probe("/classify/text", b'{"sentences": [" "]}', 422),
    "/healthz (control)": Probe("/healthz", b""),
}
"""The first two reach a model; the third is refused by the API itself (an empty sentence), so
it times the API process alone, middleware included; the control is never authenticated or
audited on either server."""


def start_both(home: Path, work: Path) -> dict[str, ServeProcess]:
    """The two servers, started at once (each takes a minute or more to load its runners)."""
    servers = {
        "served": ServeProcess(
            home,
            {
                "TMPDIR": str(work),
                "TRIAGE_AUDIT_LOG": str(work / "audit.jsonl"),
                "TRIAGE_RATE_LIMIT_PER_S": "10000",
                "TRIAGE_RATE_LIMIT_BURST": "10000",
                "TRIAGE_AUTH_FAILURE_RATE_PER_S": "0.5",
                "TRIAGE_AUTH_FAILURE_BURST": "20",
            },
        ),
        "auth off": ServeProcess(
            home,
            {
                "TMPDIR": str(work),
                "TRIAGE_AUTH": "0",
                "TRIAGE_RATE_LIMIT_PER_S": "0",
                "TRIAGE_AUTH_FAILURE_RATE_PER_S": "0",
                "TRIAGE_AUDIT_LOG": os.devnull,
            },
        ),
    }
    for i in range(9):  # the served server checks its own key against a file of 10
        add_key(servers["served"].keys_file, f"center-{i}")
    start_all(list(servers.values()))
    return servers


def send(client: httpx.Client, probe: Probe) -> float:
    """One request (POST of the body, GET without one): its latency in ms."""
    t0 = time.perf_counter()
    if probe.body:
        r = client.post(probe.path, content=probe.body, headers={"Content-Type": "application/json"})
    else:
        r = client.get(probe.path)
    elapsed = (time.perf_counter() - t0) * 1000
    if r.status_code != probe.status:
        raise RuntimeError(f"{client.base_url}{probe.path}: {r.status_code} {r.text[:200]}")
    return elapsed


def window(client: httpx.Client, probe: Probe, seconds: float) -> list[float]:
    """Sequential requests for ``seconds``: each one's latency in ms."""
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        times.append(send(client, probe))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=None, help="BENTOML_HOME with the default models")
    parser.add_argument("--rounds", type=int, default=8, help="windows per endpoint and server")
    parser.add_argument("--window-s", type=float, default=4.0, help="seconds of one window")
    parser.add_argument("--warmup", type=int, default=20, help="requests per endpoint and server first")
    args = parser.parse_args()
    home = args.home or default_home()
    work = Path(tempfile.mkdtemp(prefix="triage-overhead-"))
    print(f"models: {model_summary(home)}; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    servers: dict[str, ServeProcess] = {}
    try:
        servers = start_both(home, work)
        clients = {
            "served": httpx.Client(
                base_url=servers["served"].url, headers=servers["served"].auth_headers, timeout=60
            ),
            "auth off": httpx.Client(base_url=servers["auth off"].url, timeout=60),
        }
        for client in clients.values():
            for probe in PROBES.values():
                for _ in range(args.warmup):
                    send(client, probe)
        times: dict[str, dict[str, list[float]]] = {p: {n: [] for n in clients} for p in PROBES}
        ratios: dict[str, list[float]] = {p: [] for p in PROBES}
        for round_ in range(args.rounds):
            order = list(clients) if round_ % 2 == 0 else list(reversed(clients))
            for path, probe in PROBES.items():
                medians = {}
                for name in order:
                    got = window(clients[name], probe, args.window_s)
                    times[path][name] += got
                    medians[name] = statistics.median(got)
                ratios[path].append(medians["served"] / medians["auth off"])
            print(f"round {round_ + 1}/{args.rounds} done; load average {os.getloadavg()[0]:.2f}", flush=True)
        audited = sum(1 for _ in (work / "audit.jsonl").open(encoding="utf-8"))
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\n{args.rounds} alternating windows of {args.window_s:g} s per endpoint and server; "
        f"{audited} audit lines on the served server\n"
    )
    print(
        "| endpoint | requests served / auth off | p50 served ms | p50 auth off ms | difference ms "
        "| ratio | median of window ratios |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path, by_server in times.items():
        served, bare = (statistics.median(by_server[n]) for n in ("served", "auth off"))
        paired = statistics.median(ratios[path])
        print(
            f"| {path} | {len(by_server['served'])} / {len(by_server['auth off'])} | {served:.2f} "
            f"| {bare:.2f} | {served - bare:+.2f} | {served / bare:.3f} | {paired:.3f} |"
        )


if __name__ == "__main__":
    main()
