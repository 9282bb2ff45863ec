"""Authentication, rate limits, request IDs, the audit trail and browser headers, over real HTTP.

Two real servers: the session's (default settings: keys required, audit to standard error
without transcripts) and ``secure_server`` with a low rate limit, a short body timeout,
an audit file with masked transcripts and one CORS origin.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.shared_audio import SPEECH_DIR
from tests.conftest import Server

CLIP = SPEECH_DIR / "emotiontts_lmy02120.wav"  # "무서워요. 도둑이 오면 어쩌죠?"
ORIGIN = "https://dispatch.example.org"
TEXT = {"sentences": ["불이 났어요 빨리 와 주세요"]}


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    srv = Server(
        env={
            "TRIAGE_RATE_LIMIT_PER_S": "2",
            "TRIAGE_RATE_LIMIT_BURST": "3",
            "TRIAGE_AUTH_FAILURE_RATE_PER_S": "0.5",
            "TRIAGE_AUTH_FAILURE_BURST": "5",
            "TRIAGE_BODY_TIMEOUT_S": "3",
            "TRIAGE_AUDIT_LOG": str(audit),
            "TRIAGE_AUDIT_TRANSCRIPTS": "1",
            "TRIAGE_CORS_ORIGINS": ORIGIN,
        }
    )
    srv.audit_path = audit
    yield srv
    srv.stop()


def raw_exchange(server: Server, request: bytes, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes or sends Content-Length)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def ws_handshake(server: Server, path: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    return raw_exchange(server, request.encode())


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_every_api_endpoint_needs_a_key(server: Server) -> None:
    plain = httpx.Client(base_url=server.url, timeout=60)
    for method, path in [
        ("POST", "/analyze"),
        ("POST", "/analyze/batch"),
        ("POST", "/transcribe"),
        ("POST", "/classify/audio"),
        ("POST", "/classify/text"),
        ("POST", "/ec/correct"),
        ("GET", "/docs.json"),
        ("GET", "/"),
    ]:
        response = plain.request(method, path)
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert error_code(response) == "missing_key"
        assert response.headers["www-authenticate"].startswith("Bearer")
    for path in ("/healthz", "/readyz", "/metrics", "/ui", "/ui/app.js", "/ui/style.css"):
        assert plain.get(path).status_code == 200, path
    assert server.client.get("/docs.json").status_code == 200


def test_bad_keys_get_their_documented_answers(server: Server) -> None:
    revoked = server.add_key("revoked-center")
    assert server.client.post(
        "/classify/text", json=TEXT, headers={"Authorization": f"Bearer {revoked}"}
    ).is_success
    server.revoke_key("revoked-center")
    cases = [
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "", 401, "malformed_authorization"),
        ({"Authorization": "Bearer"}, "", 401, "malformed_authorization"),
        ({"Authorization": "Bearer two words"}, "", 401, "malformed_authorization"),
        ({"Authorization": server.api_key}, "", 401, "malformed_authorization"),
        ({"Authorization": "Bearer tk_" + "A" * 43}, "", 401, "invalid_key"),
        ({"Authorization": f"Bearer {revoked}"}, "", 401, "invalid_key"),
        ({"Authorization": "bearer " + "x" * 5000}, "", 401, "malformed_authorization"),
        (server.auth_headers, f"?api_key={server.api_key}", 400, "key_in_query"),
        (server.auth_headers, "?token=abc", 400, "key_in_query"),
        (server.auth_headers, f"?q={server.api_key}", 400, "key_in_query"),
        ({}, f"?access_token={server.api_key}", 400, "key_in_query"),
    ]
    for headers, query, status, code in cases:
        response = httpx.post(f"{server.url}/classify/text{query}", json=TEXT, headers=headers, timeout=60)
        assert (response.status_code, error_code(response)) == (status, code), (headers, query)
    twice = raw_exchange(
        server,
        (
            f"GET /docs.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n"
            f"Authorization: Bearer {server.api_key}\r\nConnection: close\r\n\r\n"
        ).encode(),
    )
    assert twice[0] == 401 and json.loads(twice[2])["error"]["code"] == "malformed_authorization"
    assert "rotate it" in server.logs(20000)  # a key seen in a URL is flagged for rotation


def test_websocket_handshake_is_authenticated(server: Server) -> None:
    """``WS /calls``: 401 before the handshake is accepted without a good key; with one, in the
    header or offered as subprotocols (how a browser sends it), the call is accepted (101), and
    the subprotocol ``bearer`` is echoed so that a browser keeps the connection."""
    status, headers, body = ws_handshake(server, "/calls")
    assert status == 401 and json.loads(body)["error"]["code"] == "missing_key"
    status, _, body = ws_handshake(server, "/calls", "Authorization: Bearer tk_wrong\r\n")
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_key"
    status, _, body = ws_handshake(server, "/calls", "Sec-WebSocket-Protocol: bearer, tk_wrong\r\n")
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_key"
    status, _, body = ws_handshake(server, "/calls?api_key=x", f"Authorization: Bearer {server.api_key}\r\n")
    assert status == 400 and json.loads(body)["error"]["code"] == "key_in_query"
    assert ws_handshake(server, "/calls", f"Authorization: Bearer {server.api_key}\r\n")[0] == 101
    status, headers, _ = ws_handshake(
        server, "/calls", f"Sec-WebSocket-Protocol: bearer, {server.api_key}\r\n"
    )
    assert status == 101 and headers["sec-websocket-protocol"] == "bearer"
    assert server.process.poll() is None


def test_request_ids_reach_the_response_and_the_runners_logs(server: Server) -> None:
    mine = server.client.post("/classify/text", json=TEXT, headers={"X-Request-ID": "call-2026-0001"})
    assert mine.headers["x-request-id"] == "call-2026-0001"
    insane = server.client.post("/classify/text", json=TEXT, headers={"X-Request-ID": 'a b"<script>'})
    new = server.client.post("/classify/text", json=TEXT)
    refused = httpx.post(f"{server.url}/classify/text", json=TEXT, headers={"X-Request-ID": "x" * 129})
    for response in (insane, new, refused):
        assert len(response.headers["x-request-id"]) == 32  # a fresh uuid4 hex
    assert len({insane.headers["x-request-id"], new.headers["x-request-id"]}) == 2
    time.sleep(1)  # log lines are flushed by the server's handlers
    lines = [line for line in server.logs(200_000).splitlines() if "[request_id=call-2026-0001]" in line]
    services = {name for name in ("triage", "text_classifier") if any(name in line for line in lines)}
    assert services == {"triage", "text_classifier"}, lines


def audit_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


def test_audit_trail_has_decisions_and_no_personal_data(server: Server) -> None:
    response = server.client.post(
        "/analyze",
        files={"file": ("김민수_010-1234-5678.wav", CLIP.read_bytes(), "audio/wav")},
        headers={"X-Request-ID": "audit-analyze-1"},
    )
    assert response.status_code == 200
    httpx.post(f"{server.url}/analyze", headers={"X-Request-ID": "audit-refused-1"}, timeout=30)
    time.sleep(1)
    logs = server.logs(500_000)
    by_id = {r["request_id"]: r for r in audit_lines(logs)}
    line = by_id["audit-analyze-1"]
    assert line["key"] == "harness" and line["endpoint"] == "/analyze" and line["status"] == 200
    decision = response.json()["decision"]
    assert line["decision"]["category"] == decision["category"]
    assert line["decision"]["probability"] == decision["emergency_probability"]
    assert line["decision"]["agency"] == decision["agency"]
    assert line["audio_seconds"] > 1 and {"speech_to_text", "total"} <= set(line["timings_ms"])
    assert "transcript" not in line
    refused = by_id["audit-refused-1"]
    assert (refused["status"], refused["error"], refused["key"]) == (401, "missing_key", None)
    for secret in ("도둑", "김민수", "1234-5678", "무서워"):
        assert secret not in logs


def test_page_has_a_strict_content_security_policy(server: Server) -> None:
    page = httpx.get(f"{server.url}/ui", timeout=30)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert "<script>" not in page.text and "<style>" not in page.text and "style=" not in page.text
    assert '<script src="ui/app.js"' in page.text
    assert "sessionStorage" in httpx.get(f"{server.url}/ui/app.js", timeout=30).text
    api = server.client.post("/classify/text", json=TEXT)
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in api.headers  # no origin configured: no CORS
    preflight = httpx.options(
        f"{server.url}/classify/text",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_only_for_configured_origins(secure_server: Server) -> None:
    def preflight(origin: str) -> httpx.Response:
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        }
        return httpx.options(f"{secure_server.url}/classify/text", headers=headers, timeout=30)

    allowed = preflight(ORIGIN)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    denied = preflight("https://evil.example.com")
    assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers
    simple = secure_server.client.post(
        "/classify/text", json=TEXT, headers={"Origin": "https://evil.example.com"}
    )
    assert "access-control-allow-origin" not in simple.headers


def test_one_keys_flood_does_not_starve_another(secure_server: Server) -> None:
    flooder = secure_server.add_key("flooder")
    calm = secure_server.add_key("calm-center")

    def flood(_: int) -> httpx.Response:
        return httpx.post(
            f"{secure_server.url}/classify/text",
            json=TEXT,
            headers={"Authorization": f"Bearer {flooder}"},
            timeout=120,
        )

    calm_answers: list[int] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        flooding = pool.map(flood, range(60))
        for _ in range(4):
            response = httpx.post(
                f"{secure_server.url}/classify/text",
                json=TEXT,
                headers={"Authorization": f"Bearer {calm}"},
                timeout=120,
            )
            calm_answers.append(response.status_code)
            time.sleep(0.6)  # within calm-center's own rate of 2 per second
        flood_answers = list(flooding)
    limited = [r for r in flood_answers if r.status_code == 429]
    assert limited and all(error_code(r) == "rate_limited" for r in limited)
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    assert {r.status_code for r in flood_answers} <= {200, 429}
    assert calm_answers == [200] * 4
    print(f"flood: {len(limited)} of {len(flood_answers)} refused; the other key: {calm_answers}")


def test_key_guessing_is_rate_limited_per_address(secure_server: Server) -> None:
    """A client guessing keys from 127.0.0.2 is refused after 5 failures, even with a good key,
    while a good key from 127.0.0.1 keeps being served; the guesser is let back in once it waits."""
    good = secure_server.add_key("guessed-at")
    guesser = httpx.Client(
        base_url=secure_server.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=60
    )
    with guesser:
        guesses = [
            guesser.post("/classify/text", json=TEXT, headers={"Authorization": f"Bearer tk_guess{i}"})
            for i in range(12)
        ]
        good_from_guesser = guesser.post(
            "/classify/text", json=TEXT, headers={"Authorization": f"Bearer {good}"}
        )
        no_key = guesser.post("/classify/text", json=TEXT)
        other_client = httpx.post(
            f"{secure_server.url}/classify/text",
            json=TEXT,
            headers={"Authorization": f"Bearer {good}"},
            timeout=60,
        )
        probe = guesser.get("/healthz")
        codes = [(r.status_code, error_code(r)) for r in guesses]
        retry_after = int(guesses[-1].headers["retry-after"])
        time.sleep(retry_after + 0.5)
        after_waiting = guesser.post("/classify/text", json=TEXT, headers={"Authorization": f"Bearer {good}"})
    # the burst of 5 failures is answered as such (a refill of 0.5/s may add one during the run)
    assert codes[:5] == [(401, "invalid_key")] * 5
    assert codes[-4:] == [(429, "rate_limited")] * 4
    assert {c for c in codes} <= {(401, "invalid_key"), (429, "rate_limited")}
    assert 1 <= retry_after <= 3
    assert (good_from_guesser.status_code, error_code(good_from_guesser)) == (429, "rate_limited")
    assert (no_key.status_code, error_code(no_key)) == (429, "rate_limited")
    assert other_client.status_code == 200 and "results" in other_client.json()
    assert probe.status_code == 200  # probes need no key and are never refused
    assert after_waiting.status_code == 200
    print(f"guesses: {codes}; Retry-After {retry_after} s")


def test_slow_body_is_cut_off_while_others_are_served(secure_server: Server) -> None:
    key = secure_server.add_key("slow-client")
    head = (
        f"POST /classify/text HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    answer: list[tuple[int, dict[str, str], bytes]] = []
    with socket.create_connection(("127.0.0.1", secure_server.port), timeout=60) as sock:
        sock.sendall(head + b'{"sentences": ["')
        reader = threading.Thread(target=lambda: answer.append(read_response(sock)))
        reader.start()
        other = secure_server.client.post("/classify/text", json=TEXT)  # served meanwhile
        sent = 0
        while reader.is_alive() and sent < 30:  # one byte a second
            try:
                sock.sendall(b"a")
            except OSError:
                break
            sent += 1
            reader.join(timeout=1)
        reader.join(timeout=30)
        closed = sock.recv(1) == b""
    status, _, body = answer[0]
    assert (status, json.loads(body)["error"]["code"]) == (408, "body_timeout")
    assert closed and sent < 30
    assert other.status_code == 200


def test_masked_transcripts_in_an_opted_in_audit_file(secure_server: Server) -> None:
    key = secure_server.add_key("audit-check")
    said = ["제 번호는 010-1234-5678이고 주민번호는 900101-1234567이에요, 불이 났어요"]
    response = httpx.post(
        f"{secure_server.url}/classify/text",
        json={"sentences": said},
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": "masked-1"},
        timeout=60,
    )
    assert response.status_code == 200
    time.sleep(1)
    text = Path(secure_server.audit_path).read_text(encoding="utf-8")
    [line] = [r for r in audit_lines(text) if r["request_id"] == "masked-1"]
    assert line["transcript"] == ["제 번호는 [phone]이고 주민번호는 [rrn]이에요, 불이 났어요"]
    assert "010-1234-5678" not in text and "900101" not in text
    assert "010-1234-5678" not in secure_server.logs(500_000)


def test_turning_auth_off_is_explicit_and_logged() -> None:
    srv = Server(env={"TRIAGE_AUTH": "0"})
    try:
        assert httpx.post(f"{srv.url}/classify/text", json=TEXT, timeout=60).status_code == 200
        assert "authentication is OFF" in srv.logs(200_000)
    finally:
        srv.stop()
