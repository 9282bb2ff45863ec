"""Access to the BentoML model store (``$BENTOML_HOME/models``) shared by runners and training.

Every model of the graph is saved with ``bentoml.models.create`` and found again by name;
this module holds the few helpers around that so runners stay thin and a missing model
fails with an instruction instead of a stack trace.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import bentoml
from bentoml.exceptions import NotFound


class ModelMissingError(RuntimeError):
    """A model the server needs is not in the store; the message says how to build it."""


def get_model(name: str) -> bentoml.Model:
    """The latest version of model ``name``, or a :class:`ModelMissingError` naming the fix."""
    try:
        return bentoml.models.get(f"{name}:latest")
    except NotFound as exc:
        raise ModelMissingError(
            f"Model '{name}' is not in the BentoML model store ({store_path()}). "
            "Build the default models with `make models`."
        ) from exc


def has_model(name: str) -> bool:
    """Whether any version of ``name`` is in the store (used to keep model building idempotent)."""
    try:
        bentoml.models.get(f"{name}:latest")
    except NotFound:
        return False
    return True


def store_path() -> Path:
    """Folder of the model store in use (follows ``BENTOML_HOME``)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Path(BentoMLContainer.bentoml_home.get()) / "models"


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so multi-hundred-MB weights stay out of memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()
