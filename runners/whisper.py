"""``SpeechToText``: Whisper as its own adaptive-batching BentoML service.

Concurrent ``transcribe`` calls are merged by BentoML's dispatcher into one list of clips,
which the configured engine decodes as one batch (see ``triage.speech.engines``).
"""

from __future__ import annotations

from pathlib import Path

import bentoml
import numpy as np

from triage.config import RUNNER_CONNECTION, get_settings
from triage.speech.engines import load_engine, pick_device
from triage.speech.schemas import Transcript

settings = get_settings()


@bentoml.service(
    name="speech_to_text", workers=1, traffic={"timeout": 300}, runner_connection=RUNNER_CONNECTION
)
class SpeechToText:
    """Transcribes batches of 16 kHz mono clips with the Whisper model of the store."""

    model_ref = bentoml.models.BentoModel(f"{settings.whisper_model}:latest")

    def __init__(self) -> None:
        self.device = pick_device()
        self.engine = load_engine(Path(self.model_ref.path), settings, self.device)

    @bentoml.api(batchable=settings.batching, max_batch_size=16, max_latency_ms=30_000)
    def transcribe(self, clips: list[np.ndarray]) -> list[Transcript]:
        """Transcribe each clip (float32 samples at 16 kHz) in the configured language."""
        return self.engine.transcribe_batch([np.asarray(c, dtype=np.float32) for c in clips])
