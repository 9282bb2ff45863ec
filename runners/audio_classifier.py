"""``AudioClassifier``: the log-mel ResNet as its own adaptive-batching BentoML service.

Concurrent ``classify`` calls are merged by BentoML's dispatcher into one list of clips;
all their windows go through the network in one forward pass
(:func:`triage.sound.model.predict_clips`), with the preprocessing parameters stored in
the model's metadata.
"""

from __future__ import annotations

import bentoml
import numpy as np
import torch

from triage.config import RUNNER_CONNECTION, get_settings
from triage.sound.model import AudioClassifierModel
from triage.sound.schemas import AudioPrediction

settings = get_settings()


@bentoml.service(
    name="audio_classifier", workers=1, traffic={"timeout": 120}, runner_connection=RUNNER_CONNECTION
)
class AudioClassifier:
    """Classifies batches of 16 kHz mono clips as calm, distress, alarm or impact."""

    model_ref = bentoml.models.BentoModel("audio-classifier:latest")

    def __init__(self) -> None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":
            # A 0.3 M-parameter network gains little from intra-op threads, and on a CPU shared
            # with Whisper and the text model they thrash: measured on 2 busy cores, 9 ms per
            # clip with one thread against 800 ms with two. Batches bring the throughput instead.
            torch.set_num_threads(1)
        self.model = AudioClassifierModel.from_store(bentoml.models.get(self.model_ref.tag), device)
        # Warm-up: the first feature extraction compiles librosa's numba kernels (25-38 s in a
        # fresh container); pay that at start-up, before /readyz, not in a caller's request.
        self.model.predict([np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32)])

    @bentoml.api(batchable=settings.batching, max_batch_size=32, max_latency_ms=10_000)
    def classify(self, clips: list[np.ndarray]) -> list[AudioPrediction]:
        """Per-class softmax probabilities (mean over 4 s windows), label and P(not calm) per clip."""
        return self.model.predict([np.asarray(c, dtype=np.float32).reshape(-1) for c in clips])
