"""Access to the BentoML model store (``$BENTOML_HOME/models``) shared by runners and training.

Every model of the graph is saved with ``bentoml.models.create`` and found again by name;
this module holds the few helpers around that so runners stay thin and a missing model
fails with an instruction instead of a stack trace. BentoML is imported inside the
functions: tests and harnesses read :data:`GRAPH_MODELS` before they set ``BENTOML_HOME``,
and BentoML fixes its home when first imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from triage import audio_classifier, corrector, fusion, text_classifier, whisper

GRAPH_MODELS: tuple[str, ...] = (
    whisper.MODEL_NAME,
    audio_classifier.MODEL_NAME,
    text_classifier.ENCODER_MODEL_NAME,
    text_classifier.MODEL_NAME,
    corrector.MODEL_NAME,
    fusion.MODEL_NAME,
)
"""Store names of every model ``service:Triage`` loads, in the order they are built."""

if TYPE_CHECKING:
    import bentoml


class ModelMissingError(RuntimeError):
    """A model the server needs is not in the store; the message says how to build it."""


def get_model(name: str) -> bentoml.Model:
    """The latest version of model ``name`` (or the version a ``name:version`` tag names), or a
    :class:`ModelMissingError` naming the fix."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        return bentoml.models.get(name if ":" in name else f"{name}:latest")
    except NotFound as exc:
        raise ModelMissingError(
            f"Model '{name}' is not in the BentoML model store ({store_path()}). "
            "Build the default models with `make models`."
        ) from exc


def has_model(name: str) -> bool:
    """Whether any version of ``name`` is in the store (used to keep model building idempotent)."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        bentoml.models.get(f"{name}:latest")
    except NotFound:
        return False
    return True


def store_path() -> Path:
    """Folder of the model store in use (follows ``BENTOML_HOME``)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Path(BentoMLContainer.bentoml_home.get()) / "models"
