"""The pieces of ``triage.security`` that need no server: masking, keys, token buckets.

Everything that depends on the server (authentication, rate limits, request IDs, the audit
trail) is tested over real HTTP in ``test_security_http.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.shared_audio import REPO
from triage.security.audit import call_event, summarize, summarize_call
from triage.security.keys import KeyStore, add_key, key_digest, parse_env, remove_key
from triage.security.masking import mask_personal_data
from triage.security.rate_limit import Buckets, TokenBucket

MASKED = [
    ("제 번호는 010-1234-5678이고요, 빨리 와 주세요", "제 번호는 [phone]이고요, 빨리 와 주세요"),
    ("집 전화 02)345-6789 말고 (031) 765-4321로 주세요", "집 전화 [phone] 말고 [phone]로 주세요"),
    ("국제전화 +82 10 9876 5432 입니다", "국제전화 [phone] 입니다"),
    ("공일공 일이삼사 오육칠팔로 연락 주세요", "[phone]로 연락 주세요"),
    ("주민번호는 900101-1234567입니다", "주민번호는 [rrn]입니다"),
    ("어머니 주민등록번호 4505022345678 불러 드릴게요", "어머니 주민등록번호 [rrn] 불러 드릴게요"),
    ("카드번호 9430-1234-5678-9012로 결제했는데 도난당했어요", "카드번호 [card]로 결제했는데 도난당했어요"),
    ("카드 ９４３０ １２３４ ５６７８ ９０１２ 분실", "카드 [card] 분실"),
    ("메일은 kim.minsu+119@naver.com 으로 보내 주세요", "메일은 [email] 으로 보내 주세요"),
    ("고객센터 1588-1234번으로 전화했어요", "고객센터 [phone]번으로 전화했어요"),
]
KEPT = [
    "서울시 강남구 테헤란로 123 101동 1203호에 불이 났어요",
    "2024년 3월 15일 오후 3시 20분에 쓰러지셨어요",
    "아이가 이 사람 저 사람 다 때려요 삼 층이에요",
    "119 불러 주세요 112도요",
    "숨을 안 쉬어요 일 분 넘었어요",
]


@pytest.mark.parametrize(("said", "logged"), MASKED)
def test_personal_numbers_and_addresses_are_masked(said: str, logged: str) -> None:
    assert mask_personal_data(said) == logged


@pytest.mark.parametrize("said", KEPT)
def test_addresses_dates_and_emergency_numbers_are_kept(said: str) -> None:
    assert mask_personal_data(said) == said


def test_key_store_finds_keys_and_forgets_revoked_ones(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    first, second = add_key(path, "center-1"), add_key(path, "center-2")
    store = KeyStore(path)
    assert store.name_of(first) == "center-1" and store.name_of(second) == "center-2"
    assert store.name_of(first[:-1] + "x") is None and store.name_of("") is None
    text = path.read_text()
    assert first not in text and second not in text  # only hashes are stored
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert remove_key(path, "center-1")
    assert store.name_of(first) is None and store.name_of(second) == "center-2"


def test_keys_from_the_environment() -> None:
    store = KeyStore(None, f"ops:{key_digest('tk_abc').hex()}, ci:sha256:{key_digest('tk_def').hex()}")
    assert store.name_of("tk_abc") == "ops" and store.name_of("tk_def") == "ci"
    with pytest.raises(ValueError):
        parse_env("ops:not-a-hash")


def test_ensure_creates_a_key_once_and_prints_it_once(tmp_path: Path) -> None:
    """What ``make serve`` runs on every start."""
    path = tmp_path / "dir" / "keys"

    def ensure() -> str:
        command = [sys.executable, "-m", "triage.security.keys", "--file", str(path), "ensure", "local"]
        return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout

    first = ensure()
    [key] = [w for w in first.split() if w.startswith("tk_")]
    assert KeyStore(path).name_of(key) == "local"
    second = ensure()
    assert "tk_" not in second and len(path.read_text().splitlines()) == 1


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0 and bucket.take(0.5) > 0
    assert bucket.full(10.0)


def test_buckets_per_name_and_waiting_takes_nothing() -> None:
    buckets = Buckets(rate_per_s=0.5, burst=2)
    assert buckets.wait("10.0.0.1", 0.0) == 0.0  # no bucket yet
    assert [buckets.take("10.0.0.1", 0.0) for _ in range(2)] == [0.0, 0.0]
    assert buckets.wait("10.0.0.1", 0.0) == pytest.approx(2.0)
    assert buckets.wait("10.0.0.1", 1.0) == pytest.approx(1.0)  # still 1 s, nothing taken
    assert buckets.take("10.0.0.2", 1.0) == 0.0  # another address has its own bucket
    assert buckets.take("10.0.0.1", 2.0) == 0.0


def test_a_hung_up_calls_audit_keeps_its_last_decision_and_no_words() -> None:
    """Without a summary (the caller hung up), the last ``triage`` event stands; partials and
    segments, which hold the caller's words, are never parsed."""
    frames = [
        '{"type":"partial","seq":2,"call_time_s":1.0,"text":"도둑이"}',
        '{"type":"segment","seq":3,"call_time_s":2.0,"text":"도둑이 들었어요"}',
        '{"type":"triage","seq":4,"call_time_s":2.5,"is_emergency":true,"category":"crime",'
        '"subtype":"theft","agency":"112","probability":0.91,"current_probability":0.9}',
    ]
    events = {e["type"]: e for e in map(call_event, frames) if e is not None}
    assert set(events) == {"triage"}
    line = summarize_call(events)
    assert line["audio_seconds"] == 2.5
    assert line["decision"] == {
        "is_emergency": True,
        "category": "crime",
        "subtype": "theft",
        "probability": 0.91,
        "agency": "112",
    }
    assert "도둑" not in str(line)


def test_the_seeds_routes_are_audited_without_words() -> None:
    """``/predict`` answers (seed 000's audio, seed 002's sentences) log the decision, never the text."""
    decision = {
        "is_emergency": True,
        "category": "fire",
        "subtype": None,
        "agency": "119",
        "emergency_probability": 0.93,
    }
    audio = summarize(
        "/predict",
        {
            "label": "help",
            "probability": 0.93,
            "analysis": {
                "decision": decision,
                "corrected_transcript": "불이 났어요 010-1234-5678",
                "audio": {"duration_s": 3.4},
                "timings_ms": {"fusion": 0.1},
            },
        },
        transcripts=False,
    )
    assert audio["seed_label"] == "help" and audio["decision"]["category"] == "fire"
    assert audio["audio_seconds"] == 3.4 and "transcript" not in audio
    text = summarize(
        "/predict",
        {
            "predictions": [{"sentence": "불이야", "prediction": "danger", "probability": 0.9}],
            "isDangerous": True,
            "result": {"results": [{"sentence": "불이야", "label": "fire"}], "is_emergency": True},
        },
        transcripts=False,
    )
    assert text == {"decision": {"is_emergency": True, "labels": ["fire"]}}
