"""Models through object storage: push the test store to a real S3 server, pull into an empty store, serve.

The fast path for a fresh machine (README): ``python -m training.model_sync pull s3://...`` and
start, no training. Run here as a user would, with the CLI in its own process, against moto's
S3 server on loopback; the store pulled from the bucket then serves ``/analyze``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.s3_server import REGION, S3Server
from harness.server import ServeProcess, latest_version
from harness.shared_audio import REPO, SPEECH_DIR
from tests.conftest import STORE, build_models
from triage.model_store import GRAPH_MODELS

CLIP = "emotiontts_pma00006.wav"


def sync(action: str, uri: str, home: Path, s3: S3Server) -> str:
    env = {
        **os.environ,
        "BENTOML_HOME": str(home),
        "TRIAGE_S3_ENDPOINT_URL": s3.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "training.model_sync", action, uri],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_push_then_pull_into_an_empty_store_which_serves() -> None:
    build_models(*GRAPH_MODELS)
    with S3Server() as s3, tempfile.TemporaryDirectory(prefix="triage-pulled-store-") as fresh:
        s3.client().create_bucket(Bucket="models")
        pushed = sync("push", "s3://models/triage", STORE, s3)
        assert pushed.count("pushed ") == len(GRAPH_MODELS), pushed
        keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket="models")["Contents"]}
        for name in GRAPH_MODELS:
            version = latest_version(STORE, name)
            assert {f"triage/{name}/latest", f"triage/{name}/{version}.tar"} <= keys

        home = Path(fresh)
        pulled = sync("pull", "s3://models/triage", home, s3)
        assert pulled.count("pulled ") == len(GRAPH_MODELS), pulled
        assert {n: latest_version(home, n) for n in GRAPH_MODELS} == {
            n: latest_version(STORE, n) for n in GRAPH_MODELS
        }
        again = sync("pull", "s3://models/triage", home, s3)
        assert again.count("already in the store") == len(GRAPH_MODELS), again

        with ServeProcess(home, timeout_s=900) as server:
            data = (SPEECH_DIR / CLIP).read_bytes()
            response = server.client.post("/analyze", files={"file": (CLIP, data, "audio/wav")}, timeout=300)
            assert response.status_code == 200, response.text
            assert response.json()["transcript"]
