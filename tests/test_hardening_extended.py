"""More bad input over real HTTP and WebSocket: keys, headers, bodies, JSON, text encodings, Unicode.

Extends ``test_hardening.py`` (clips, texts, multipart) to at least 60 kinds together. Each
kind gets its documented 4xx (``docs/SECURITY.md``), or 200 where odd input is valid; a few
are refused by Uvicorn's HTTP parser before the app runs, with a plain-text 400. After the
barrage the server still answers, its memory is near its level and nothing is left on disk.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from harness.shared_audio import SPEECH_DIR
from tests.conftest import Server
from tests.test_hardening import AUDIO_CASES, JSON_CASES, temp_entries, tree_rss

CLIP = (SPEECH_DIR / "emotiontts_lmy02120.wav").read_bytes()
TEXT_PATH = "/classify/text"
PLAIN = "(plain text)"
"""Expected code of a refusal by the HTTP parser, which answers before the app and not in JSON."""
EXISTING_KINDS = len(AUDIO_CASES) + len(JSON_CASES) + 4  # + three raw bodies and one huge upload


@dataclass
class Answer:
    status: int
    body: bytes


@dataclass
class Kind:
    name: str
    status: int
    code: str | None  # None: a success; PLAIN: the parser's plain-text refusal
    send: Callable[[Server], Answer]
    reset_ok: bool = False
    """The server may close the connection before the client has read its answer."""


def raw(server: Server, request: bytes) -> Answer:
    """Send bytes as they are; status 0 when the server closed the connection without an answer."""
    data = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionError:
            pass
    if not data.startswith(b"HTTP/"):
        return Answer(0, data)
    head, _, body = data.partition(b"\r\n\r\n")
    return Answer(int(head.split(b" ", 2)[1]), body)


def request_bytes(
    server: Server, method: str, path: str, body: bytes = b"", headers: str = "", key: bool = True
) -> bytes:
    auth = f"Authorization: Bearer {server.api_key}\r\n" if key else ""
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}{length}{headers}\r\n"
    ).encode() + body


def post(
    path: str, key: bool = True, headers: dict[str, str] | None = None, **kwargs
) -> Callable[[Server], Answer]:
    def send(server: Server) -> Answer:
        all_headers = {**(server.auth_headers if key else {}), **(headers or {})}
        r = httpx.post(f"{server.url}{path}", headers=all_headers, timeout=120, **kwargs)
        return Answer(r.status_code, r.content)

    return send


def get(path: str, headers: dict[str, str] | None = None) -> Callable[[Server], Answer]:
    def send(server: Server) -> Answer:
        r = httpx.get(f"{server.url}{path}", headers={**server.auth_headers, **(headers or {})}, timeout=60)
        return Answer(r.status_code, r.content)

    return send


def raw_post(path: str, body: bytes, headers: str = "") -> Callable[[Server], Answer]:
    return lambda server: raw(server, request_bytes(server, "POST", path, body, headers))


def text(sentence: str) -> Callable[[Server], Answer]:
    return post(TEXT_PATH, json={"sentences": [sentence]})


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "bomb") -> bytes:
    out = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(out) + f"--{boundary}--\r\n".encode()


def form(path: str, body: bytes, boundary: str = "bomb") -> Callable[[Server], Answer]:
    return post(path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def revoked_key(server: Server) -> Answer:
    key = server.add_key("revoked-in-barrage")
    server.revoke_key("revoked-in-barrage")
    return post(TEXT_PATH, key=False, headers={"Authorization": f"Bearer {key}"}, json={"sentences": ["x"]})(
        server
    )


def websocket(extra: str) -> Callable[[Server], Answer]:
    def send(server: Server) -> Answer:
        request = (
            "GET /calls/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
        return raw(server, request.encode())

    return send


def nested(depth: int) -> bytes:
    return b'{"sentences": ' + b"[" * depth + b'"x"' + b"]" * depth + b"}"


SENTENCE = {"sentences": ["불이 났어요"]}
KINDS = [
    # Keys (every kind of refusal of test_security_http.py, once more in the barrage).
    Kind("no Authorization header", 401, "missing_key", post(TEXT_PATH, key=False, json=SENTENCE)),
    Kind(
        "Basic scheme",
        401,
        "malformed_authorization",
        post(TEXT_PATH, key=False, headers={"Authorization": "Basic eDp5"}, json=SENTENCE),
    ),
    Kind(
        "Bearer without key",
        401,
        "malformed_authorization",
        post(TEXT_PATH, key=False, headers={"Authorization": "Bearer"}, json=SENTENCE),
    ),
    Kind(
        "wrong key",
        401,
        "invalid_key",
        post(TEXT_PATH, key=False, headers={"Authorization": "Bearer tk_nope"}, json=SENTENCE),
    ),
    Kind("revoked key", 401, "invalid_key", revoked_key),
    Kind(
        "key in the query string",
        400,
        "key_in_query",
        lambda s: post(f"{TEXT_PATH}?api_key={s.api_key}", json=SENTENCE)(s),
    ),
    Kind(
        "token in the query string", 400, "key_in_query", post(f"{TEXT_PATH}?access_token=abc", json=SENTENCE)
    ),
    Kind("WebSocket without key", 401, "missing_key", websocket("")),
    Kind("WebSocket with wrong key", 401, "invalid_key", websocket("Authorization: Bearer tk_nope\r\n")),
    # Headers.
    Kind(
        "10 KB header",
        431,
        "headers_too_large",
        post(TEXT_PATH, headers={"X-Filler": "a" * 10_000}, json=SENTENCE),
    ),
    Kind(
        "1000 small headers",
        431,
        "headers_too_large",
        raw_post(TEXT_PATH, b"{}", "".join(f"X-H{i}: v\r\n" for i in range(1000))),
    ),
    Kind(
        "64 KB header", 431, "headers_too_large", raw_post(TEXT_PATH, b"{}", f"X-Filler: {'a' * 65_536}\r\n")
    ),
    Kind(
        "insane X-Request-ID",
        200,
        None,
        post(TEXT_PATH, headers={"X-Request-ID": "../../etc\tpasswd"}, json=SENTENCE),
    ),
    Kind(
        "negative Content-Length",
        400,
        PLAIN,
        lambda s: raw(
            s,
            request_bytes(s, "POST", TEXT_PATH, headers="Content-Length: -5\r\n").replace(
                b"Content-Length: 0\r\n", b""
            ),
        ),
    ),
    Kind(
        "broken chunked encoding",
        400,
        PLAIN,
        raw_post(TEXT_PATH, b"zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
    ),
    # Bodies and multipart.
    Kind(
        "multipart bomb: 5000 fields",
        400,
        "missing_file",
        form("/analyze", multipart([("f", None, b"x")] * 5000)),
    ),
    Kind(
        "multipart bomb: 5000 files",
        413,
        "too_many_files",
        form("/analyze/batch", multipart([("file", "a.wav", b"x")] * 5000)),
    ),
    Kind(
        "multipart without boundary",
        400,
        None,
        post("/analyze", content=b"abc", headers={"Content-Type": "multipart/form-data"}),
    ),
    Kind(
        "multipart, 200-character boundary",
        200,
        None,
        form("/classify/audio", multipart([("file", "a.wav", CLIP)], "b" * 200), "b" * 200),
    ),
    Kind(
        "form-urlencoded audio",
        415,
        "unsupported_media_type",
        post("/transcribe", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ),
    Kind(
        "JSON sent as audio", 415, "unsupported_media_type", post("/transcribe", json={"audio": "UklGRg=="})
    ),
    Kind(
        "upload over the limit, declared",
        413,
        "upload_too_large",
        lambda s: raw(
            s,
            request_bytes(s, "POST", "/transcribe", b"RIFF", "Content-Type: audio/wav\r\n").replace(
                b"Content-Length: 4", b"Content-Length: 999999999"
            ),
        ),
    ),
    Kind(
        "17 files in a batch",
        413,
        "too_many_files",
        post("/analyze/batch", files=[("file", (f"{i}.wav", b"x", "audio/wav")) for i in range(17)]),
    ),
    Kind(
        "transcript over the limit",
        413,
        "text_too_long",
        post("/analyze", files={"file": ("a.wav", CLIP, "audio/wav")}, data={"transcript": "불" * 3000}),
    ),
    # JSON.
    Kind(
        "JSON nested 100000 deep",
        400,
        "unreadable_body",
        raw_post(TEXT_PATH, nested(100_000), "Content-Type: application/json\r\n"),
    ),
    Kind(
        "JSON nested 500 deep",
        422,
        "invalid_request",
        raw_post(TEXT_PATH, nested(500), "Content-Type: application/json\r\n"),
    ),
    Kind(
        "JSON null",
        422,
        "invalid_request",
        post(TEXT_PATH, content=b"null", headers={"Content-Type": "application/json"}),
    ),
    Kind("JSON top-level list", 422, "invalid_request", post(TEXT_PATH, json=["불이 났어요"])),
    Kind(
        "empty JSON body",
        422,
        "invalid_request",
        post(TEXT_PATH, content=b"", headers={"Content-Type": "application/json"}),
    ),
    Kind(
        "JSON as text/plain",
        422,
        "invalid_request",
        post(TEXT_PATH, content=json.dumps(SENTENCE).encode(), headers={"Content-Type": "text/plain"}),
    ),
    Kind("129 sentences", 422, "invalid_request", post(TEXT_PATH, json={"sentences": ["불이야"] * 129})),
    Kind(
        "513 segments",
        422,
        "invalid_request",
        post("/ec/correct", json={"segments": [{"text": "불이야"}] * 513}),
    ),
    # Text encodings and Unicode.
    Kind(
        "EUC-KR bytes as JSON",
        400,
        "unreadable_body",
        post(
            TEXT_PATH,
            content='{"sentences": ["불이 났어요"]}'.encode("euc-kr"),
            headers={"Content-Type": "application/json"},
        ),
    ),
    Kind(
        "Latin-1 bytes as JSON",
        400,
        "unreadable_body",
        post(
            TEXT_PATH,
            content='{"sentences": ["café"]}'.encode("latin-1"),
            headers={"Content-Type": "application/json"},
        ),
    ),
    Kind(
        "lone surrogate escape",
        422,
        "invalid_text",
        post(
            TEXT_PATH,
            content=b'{"sentences": ["\\ud800 \xeb\xb6\x88"]}',
            headers={"Content-Type": "application/json"},
        ),
    ),
    Kind(
        "UTF-16 JSON",
        200,
        None,
        post(
            TEXT_PATH,
            content=json.dumps(SENTENCE).encode("utf-16"),
            headers={"Content-Type": "application/json"},
        ),
    ),
    Kind("RTL marks", 200, None, text("\u202e요세주 와\u202c \u200f불이야\u200f")),
    Kind("zero-width joiners", 200, None, text("불\u200d이\u200d야 👨\u200d👩\u200d👧 \u200b\u2060도와줘")),
    Kind("a million combining marks", 413, "text_too_long", text("불" + "\u0301" * 1_000_000)),
    Kind("only combining marks", 200, None, text("\u0301" * 500)),
    Kind("only zero-width spaces", 200, None, text("\u200b" * 100)),
    Kind("NUL and control characters only", 200, None, text("\x00\x01\x02\x1b[31m")),
    Kind(
        "lone surrogate in a segment",
        422,
        "invalid_request",
        post(
            "/ec/correct",
            content=b'{"segments": [{"text": "\\udc00 \xeb\xb6\x88"}]}',
            headers={"Content-Type": "application/json"},
        ),
    ),
    Kind(
        "EUC-KR transcript field",
        200,
        None,
        post(
            "/analyze",
            files={"file": ("a.wav", CLIP, "audio/wav")},
            data={"transcript": "도둑이야".encode("euc-kr")},
        ),
    ),
    Kind(
        "1 MB header",
        400,
        PLAIN,
        raw_post(TEXT_PATH, b"{}", f"X-Filler: {'a' * (1 << 20)}\r\n"),
        reset_ok=True,
    ),
    # Methods and paths.
    Kind("GET on a POST route", 405, "method_not_allowed", get("/analyze")),
    Kind("unknown path", 404, PLAIN, get("/admin")),
    Kind("path traversal", 404, PLAIN, get("/ui/../../etc/passwd")),
]


def test_extended_barrage_each_kind_gets_its_answer(server: Server) -> None:
    assert server.client.post(TEXT_PATH, json=SENTENCE).status_code == 200  # warm
    rss_before, temp_before = tree_rss(server.process.pid), temp_entries(server)
    wrong = []
    for kind in KINDS:
        answer = kind.send(server)
        assert answer.status < 500, f"{kind.name}: {answer.status} {answer.body[:300]!r}"
        try:
            code = json.loads(answer.body).get("error", {}).get("code")
        except (ValueError, AttributeError):
            code = PLAIN
        if kind.reset_ok and answer.status == 0:
            continue
        if answer.status != kind.status or (kind.code is not None and code != kind.code):
            wrong.append(
                f"{kind.name}: {answer.status} {answer.body[:160]!r}, want {kind.status} {kind.code}"
            )
    assert not wrong, "\n".join(wrong)
    total = EXISTING_KINDS + len(KINDS)
    print(f"{len(KINDS)} more kinds of bad or odd input; {total} with test_hardening.py")
    assert total >= 60
    assert server.client.get("/readyz").status_code == 200
    assert server.client.post("/transcribe", files={"file": ("a.wav", CLIP, "audio/wav")}).status_code == 200
    rss_after = tree_rss(server.process.pid)
    print(f"serving processes RSS: {rss_before / 2**20:.0f} MiB before, {rss_after / 2**20:.0f} MiB after")
    assert rss_after < rss_before * 1.25 + (100 << 20)
    assert temp_entries(server) - temp_before == set()
