"""Audio by reference: ``/analyze`` and ``/analyze/batch`` reading from a real S3 API server.

moto's standalone server runs on loopback (``harness.s3_server``) with signatures and IAM
policies enforced; the triage server reads it with boto3 as it would any S3-compatible store,
as a user allowed to read bucket ``calls`` only. Each refusal the feature promises is the
store's or the server's real answer: a missing object, a bucket the store denies, a bucket
off the allow-list, bytes that are no audio, an object over the size limit, and finally the
store gone. Nothing may land on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from harness.s3_server import REGION, S3Server
from harness.shared_audio import SPEECH_DIR, read_manifest
from tests.conftest import Server
from triage.metrics import cer

CLIP = "emotiontts_lmy02120.wav"
LIMIT_BYTES = 1_000_000
REFERENCES = {r["file"]: r["transcript"] for r in read_manifest(SPEECH_DIR)}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as store:
        client = store.client()
        for bucket in ("calls", "private", "elsewhere"):
            client.create_bucket(Bucket=bucket)
        client.put_object(Bucket="calls", Key=f"2026/{CLIP}", Body=(SPEECH_DIR / CLIP).read_bytes())
        client.put_object(
            Bucket="calls", Key="notes.txt", Body="통화 메모입니다".encode(), ContentType="text/plain"
        )
        client.put_object(Bucket="calls", Key="long.wav", Body=os.urandom(LIMIT_BYTES + 1))
        client.put_object(Bucket="private", Key=CLIP, Body=(SPEECH_DIR / CLIP).read_bytes())
        client.put_object(Bucket="elsewhere", Key=CLIP, Body=(SPEECH_DIR / CLIP).read_bytes())
        store.credentials = store.user_with_policy(
            "triage",
            [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": ["arn:aws:s3:::calls", "arn:aws:s3:::calls/*"],
                }
            ],
        )
        store.enforce_auth()
        yield store


@pytest.fixture(scope="module")
def server(s3: S3Server) -> Iterator[Server]:
    env = {
        "TRIAGE_S3_ALLOWED_BUCKETS": "calls, private",
        "TRIAGE_S3_ENDPOINT_URL": s3.url,
        "TRIAGE_MAX_UPLOAD_BYTES": str(LIMIT_BYTES),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **s3.credentials,
    }
    srv = Server(env=env)
    yield srv
    srv.stop()


def analyze_ref(server: Server, uri: str) -> httpx.Response:
    return server.client.post("/analyze", json={"s3_uri": uri}, timeout=300)


def test_analyze_by_s3_uri_matches_the_upload(server: Server) -> None:
    by_ref = analyze_ref(server, f"s3://calls/2026/{CLIP}")
    assert by_ref.status_code == 200, by_ref.text
    data = (SPEECH_DIR / CLIP).read_bytes()
    uploaded = server.client.post("/analyze", files={"file": (CLIP, data, "audio/wav")}, timeout=300)
    assert uploaded.status_code == 200, uploaded.text
    assert cer(REFERENCES[CLIP], by_ref.json()["transcript"]) < 0.3
    assert by_ref.json()["transcript"] == uploaded.json()["transcript"]
    assert by_ref.json()["decision"] == uploaded.json()["decision"]

    known = server.client.post(
        "/analyze",
        json={"s3_uri": f"s3://calls/2026/{CLIP}", "transcript": "불이 났어요"},
        timeout=300,
    )
    assert known.status_code == 200 and known.json()["transcript_source"] == "client"


def test_seed_000_predict_s3_routes(server: Server) -> None:
    """Seed 000's ``/predict_s3`` (and its code's ``/s3predict``): an S3 object plus optional text."""
    uploaded = analyze_ref(server, f"s3://calls/2026/{CLIP}").json()
    for path, body in (
        ("/predict_s3", {"s3_uri": f"s3://calls/2026/{CLIP}"}),
        ("/s3predict", {"s3_key": f"s3://calls/2026/{CLIP}", "text": ""}),
    ):
        response = server.client.post(path, json=body, timeout=300)
        assert response.status_code == 200, response.text
        assert response.json()["analysis"]["transcript"] == uploaded["transcript"]
        assert response.json()["analysis"]["decision"] == uploaded["decision"]
    told = server.client.post(
        "/predict_s3", json={"s3_uri": f"s3://calls/2026/{CLIP}", "text": "불이 났어요"}, timeout=300
    )
    assert told.status_code == 200 and told.json()["analysis"]["transcript_source"] == "client"
    for body, status in (({"text": "x"}, 422), ({"s3_uri": "s3://elsewhere/x.wav"}, 403)):
        refused = server.client.post("/predict_s3", json=body, timeout=60)
        assert refused.status_code == status, refused.text


@pytest.mark.parametrize(
    ("uri", "status", "code"),
    [
        ("s3://calls/2026/missing.wav", 404, "object_not_found"),
        (f"s3://private/{CLIP}", 403, "access_denied"),
        (f"s3://elsewhere/{CLIP}", 403, "bucket_not_allowed"),
        ("s3://calls/notes.txt", 415, "unsupported_audio"),
        ("s3://calls/long.wav", 413, "object_too_large"),
        ("https://calls/x.wav", 400, "invalid_s3_uri"),
        ("s3://calls", 400, "invalid_s3_uri"),
        ("s3://[calls/x.wav", 400, "invalid_s3_uri"),  # found by schemathesis: urlsplit raised
    ],
)
def test_each_refusal_is_a_clear_4xx(server: Server, uri: str, status: int, code: str) -> None:
    response = analyze_ref(server, uri)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_malformed_reference_bodies(server: Server) -> None:
    for body in (b"{", b"[]", b'{"s3_uri": 7}'):
        response = server.client.post(
            "/analyze", content=body, headers={"content-type": "application/json"}, timeout=60
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["code"]


def test_batch_takes_a_list_of_references(server: Server) -> None:
    uris = [f"s3://calls/2026/{CLIP}", "s3://calls/2026/missing.wav", f"s3://elsewhere/{CLIP}"]
    response = server.client.post("/analyze/batch", json={"s3_uris": uris}, timeout=300)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["filename"] for r in results] == uris
    assert cer(REFERENCES[CLIP], results[0]["analysis"]["transcript"]) < 0.3
    assert [r["error"]["code"] for r in results[1:]] == ["object_not_found", "bucket_not_allowed"]
    empty = server.client.post("/analyze/batch", json={"s3_uris": []}, timeout=60)
    assert empty.status_code == 422


def test_nothing_written_to_disk(server: Server) -> None:
    before = sorted(server.tmpdir.rglob("*"))
    assert analyze_ref(server, f"s3://calls/2026/{CLIP}").status_code == 200
    assert analyze_ref(server, "s3://calls/long.wav").status_code == 413
    assert sorted(server.tmpdir.rglob("*")) == before


def test_unreachable_store_is_503_and_server_keeps_serving(server: Server, s3: S3Server) -> None:
    s3.stop()
    response = analyze_ref(server, f"s3://calls/2026/{CLIP}")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "object_store_unavailable"
    data = (SPEECH_DIR / CLIP).read_bytes()
    uploaded = server.client.post("/analyze", files={"file": (CLIP, data, "audio/wav")}, timeout=300)
    assert uploaded.status_code == 200, uploaded.text
