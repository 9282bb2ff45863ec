"""What authentication and the audit trail cost per request: the security middleware, in process.

    .venv/bin/python -m benchmarks.bench_security_overhead [--requests 20000]

Drives the real middleware stack of ``triage.security`` (request ID, browser headers, audit,
request bounds, API-key check, rate limit) around a stand-in route answering an
``/analyze``-shaped JSON body (the audit parses it), with the server's own ASGI message flow but
no network and no models, so the figure is the middleware's cost alone. Three stacks, each
timed in turn over the same requests, repeated and interleaved so load changes on a shared
machine hit them alike:

- ``none``: the route alone;
- ``auth off``: every security middleware with ``TRIAGE_AUTH=0`` (audit still on);
- ``auth on``: every security middleware, a key checked against a file of 10 keys.

Prints microseconds per request (median of the rounds) and the added cost, next to the
server's real per-request time (pass ``--request-ms`` from a load run) as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from triage.security.audit import AuditTrail
from triage.security.auth import ApiKeyAuth
from triage.security.browser import SecurityHeaders
from triage.security.keys import add_key
from triage.security.rate_limit import RateLimit
from triage.security.request_bounds import RequestBounds
from triage.security.request_id import RequestId

BODY = json.dumps(
    {
        "transcript": "무서워요. 도둑이 오면 어쩌죠?",
        "corrected_transcript": "무서워요. 도둑이 오면 어쩌죠?",
        "decision": {
            "is_emergency": True,
            "emergency_probability": 0.91,
            "category": "crime",
            "subtype": "robbery",
            "agency": "112",
            "method": "logistic",
        },
        "audio": {"label": "distress", "duration_s": 3.42, "distress_probability": 0.8},
        "timings_ms": {"speech_to_text": 2900.1, "audio_classifier": 80.2, "total": 3100.0},
        "speech": {
            "segments": [{"text": "무서워요", "words": [{"word": "무서워요", "probability": 0.9}] * 20}]
        },
    }
).encode()


async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": BODY})


def stack(auth: bool | None, keys_file: Path, audit_file: Path) -> Any:
    """The middleware in the order ``install_security`` adds them (outermost last here)."""
    if auth is None:
        return route
    app: Any = RateLimit(route, rate_per_s=0, burst=1)
    app = ApiKeyAuth(app, keys_file=str(keys_file), enabled=auth)
    app = RequestBounds(app, max_header_bytes=8192, body_timeout_s=30)
    app = AuditTrail(app, path=str(audit_file))
    app = SecurityHeaders(app)
    return RequestId(app)


async def run(app: Any, requests: int, key: str) -> float:
    headers = [(b"host", b"x"), (b"authorization", f"Bearer {key}".encode()), (b"content-type", b"audio/wav")]
    body = {"type": "http.request", "body": b"RIFF" * 256, "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def send(message: dict[str, Any]) -> None:
        pass

    started = time.perf_counter()
    for _ in range(requests):
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/analyze",
            "query_string": b"",
            "headers": headers,
        }
        scope["client"] = ("127.0.0.1", 5000)
        await app(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000, help="requests per stack and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--request-ms", type=float, default=None, help="a real request's latency, for the ratio"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keys_file, audit_file = Path(tmp) / "keys", Path(tmp) / "audit.jsonl"
        keys = [add_key(keys_file, f"center-{i}") for i in range(10)]
        stacks = {
            "none": stack(None, keys_file, audit_file),
            "auth off": stack(False, keys_file, audit_file),
            "auth on": stack(True, keys_file, audit_file),
        }
        times: dict[str, list[float]] = {name: [] for name in stacks}
        for _ in range(args.rounds):
            for name, app in stacks.items():
                times[name].append(asyncio.run(run(app, args.requests, keys[-1])))
        audited = sum(1 for _ in audit_file.open(encoding="utf-8"))
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"{args.rounds} rounds x {args.requests} requests per stack; {audited} audit lines written")
    for name, us in median.items():
        print(f"  {name:<9} {us:8.1f} us/request  (rounds: {', '.join(f'{t:.1f}' for t in times[name])})")
    auth_cost = median["auth on"] - median["auth off"]
    all_cost = median["auth on"] - median["none"]
    print(f"  key check (auth on - auth off): {auth_cost:.1f} us; whole security stack: {all_cost:.1f} us")
    if args.request_ms:
        share = all_cost / (args.request_ms * 1000)
        print(f"  against a {args.request_ms:g} ms request: {share:.2%} of its time")


if __name__ == "__main__":
    main()
