"""``TextClassifier``: the Korean text classifier as its own adaptive-batching BentoML service.

Concurrent ``classify`` calls are merged by BentoML's dispatcher into one list of texts,
which :class:`triage.text_classifier.model.TextClassifierModel` scores as one padded batch.
"""

from __future__ import annotations

from pathlib import Path

import bentoml
from bentoml.exceptions import InvalidArgument

from triage.config import RUNNER_CONNECTION, get_settings
from triage.device import pick_device, set_torch_threads
from triage.errors import TriageError
from triage.malloc import release_freed_memory
from triage.text_classifier import ENCODER_MODEL_NAME, MODEL_NAME
from triage.text_classifier.schemas import TextPrediction

settings = get_settings()


@bentoml.service(
    name="text_classifier", workers=1, traffic={"timeout": 60}, runner_connection=RUNNER_CONNECTION
)
class TextClassifier:
    """Classifies batches of Korean texts into the categories stored with the model."""

    model_ref = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")
    # the frozen sentence encoder under the heads (a second model, packed with the Bento)
    encoder_ref = bentoml.models.BentoModel(f"{ENCODER_MODEL_NAME}:latest")

    def __init__(self) -> None:
        # Imported here: every process of the graph imports this module, only this runner
        # needs torch and transformers.
        from triage.text_classifier.model import TextClassifierModel

        set_torch_threads(settings.text_classifier_threads)
        self.model = TextClassifierModel(
            Path(self.model_ref.path),
            device=pick_device(),
            settings=settings,
            encoder=Path(self.encoder_ref.path),
        )
        release_freed_memory()  # the loading's temporary buffers

    @bentoml.api(batchable=settings.batching, max_batch_size=64, max_latency_ms=10_000)
    def classify(self, texts: list[str]) -> list[TextPrediction]:
        """Label, calibrated probabilities and emergency probability for each text, in order.

        The composed service validates each request before calling this, because one bad
        text would fail the whole merged batch; a direct caller still gets a 400, not a 500.
        """
        try:
            return self.model.classify(texts)
        except TriageError as exc:
            raise InvalidArgument(f"{exc.code}: {exc.message}") from exc
