"""Shared fixtures: a private BentoML model store, test-profile models and a real server.

``BENTOML_HOME`` is pointed at a fresh temporary store before anything imports BentoML,
so tests never touch a developer's models. Set ``TRIAGE_TEST_STORE=/some/dir`` to keep
the store (and its trained test models) between runs while developing.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "audio"
SPEECH_DIR = SHARED_AUDIO / "speech"
SOUNDS_DIR = SHARED_AUDIO / "sounds"

STORE = Path(os.environ.get("TRIAGE_TEST_STORE") or tempfile.mkdtemp(prefix="triage-test-store-"))
os.environ["BENTOML_HOME"] = str(STORE)
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")


def read_manifest(directory: Path) -> list[dict[str, str]]:
    """Rows of a shared ``manifest.tsv`` (fails loudly if the shared data is missing)."""
    with (directory / "manifest.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def build_models(*names: str) -> None:
    """Build test-profile models into the test store (skips those already there)."""
    subprocess.run(
        [sys.executable, "-m", "training.build_models", "--profile", "test", "--only", *names],
        cwd=REPO,
        check=True,
    )


@pytest.fixture(scope="session")
def model_store() -> Path:
    """The test session's BentoML home."""
    return STORE


@pytest.fixture(scope="session")
def whisper_model(model_store: Path) -> Path:
    """Whisper base imported from the PyPI weight packages; returns the stored model's folder."""
    import bentoml

    build_models("whisper-base")
    return Path(bentoml.models.get("whisper-base:latest").path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real ``bentoml serve service:Triage`` process on a free loopback port."""

    def __init__(self, env: dict[str, str] | None = None, timeout_s: float = 300) -> None:
        from training.build_models import STEPS

        build_models(*(name for name, _, _ in STEPS))
        self.port = free_port()
        # A private temp directory, so tests can prove requests leave nothing in it.
        self.tmpdir = Path(tempfile.mkdtemp(prefix="triage-serve-tmp-"))
        self.url = f"http://127.0.0.1:{self.port}"
        fd, name = tempfile.mkstemp(prefix="triage-serve-", suffix=".log")
        self.log_path = Path(name)
        with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bentoml", "serve", "service:Triage", "--port", str(self.port)],
                cwd=REPO,
                env={**os.environ, "TMPDIR": str(self.tmpdir), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bentoml serve exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"server not ready after {timeout_s} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One server for the session, built from every default-graph model in test profile."""
    srv = Server()
    yield srv
    srv.stop()
