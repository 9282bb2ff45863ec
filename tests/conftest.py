"""Shared fixtures: a private BentoML model store, test-profile models and a real server.

``BENTOML_HOME`` is pointed at a fresh temporary store before anything imports BentoML,
so tests never touch a developer's models. Set ``TRIAGE_TEST_STORE=/some/dir`` to keep
the store (and its trained test models) between runs while developing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.server import ServeProcess
from harness.shared_audio import REPO
from triage import whisper

if TYPE_CHECKING:  # BentoML is imported only once BENTOML_HOME is set below
    import bentoml

STORE = Path(os.environ.get("TRIAGE_TEST_STORE") or tempfile.mkdtemp(prefix="triage-test-store-"))
# pytest loads this file as ``conftest`` and test modules import it as ``tests.conftest``:
# the variable makes the second import reuse the first one's store.
os.environ["TRIAGE_TEST_STORE"] = str(STORE)
os.environ["BENTOML_HOME"] = str(STORE)
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")


def build_models(*names: str) -> None:
    """Build test-profile models into the test store (skips those already there)."""
    subprocess.run(
        [sys.executable, "-m", "training.build_models", "--profile", "test", "--only", *names],
        cwd=REPO,
        check=True,
    )


def stored_model(name: str) -> bentoml.Model:
    """The test-profile model ``name`` from the test store, built first when it is missing."""
    import bentoml

    build_models(name)
    return bentoml.models.get(f"{name}:latest")


@pytest.fixture(scope="session")
def model_store() -> Path:
    """The test session's BentoML home."""
    return STORE


@pytest.fixture(scope="session")
def whisper_model(model_store: Path) -> Path:
    """Whisper base imported from the PyPI weight packages; returns the stored model's folder."""
    return Path(stored_model(whisper.MODEL_NAME).path)


class Server(ServeProcess):
    """A real ``bentoml serve service:Triage`` over the test store, with a private TMPDIR.

    Builds every model of the graph (test profile) first. The private temp directory lets
    tests prove that requests leave nothing behind in it.
    """

    def __init__(self, env: dict[str, str] | None = None, timeout_s: float = 300) -> None:
        from training.build_models import STEPS

        build_models(*(name for name, _, _ in STEPS))
        self.tmpdir = Path(tempfile.mkdtemp(prefix="triage-serve-tmp-"))
        super().__init__(STORE, env={"TMPDIR": str(self.tmpdir), **(env or {})}, timeout_s=timeout_s)
        self.start()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One server for the session, built from every default-graph model in test profile."""
    srv = Server()
    yield srv
    srv.stop()
