"""``AudioClassifier``: the log-mel ResNet as its own adaptive-batching BentoML service.

Concurrent ``classify`` calls are merged by BentoML's dispatcher into one list of clips;
all their windows go through the network in one forward pass
(:func:`triage.audio_classifier.model.predict_clips`), with the preprocessing parameters
stored in the model's metadata.
"""

from __future__ import annotations

import bentoml
import numpy as np

from triage.audio_classifier import MODEL_NAME
from triage.audio_classifier.schemas import AudioPrediction
from triage.config import RUNNER_CONNECTION, SAMPLE_RATE, get_settings
from triage.device import pick_device, set_torch_threads
from triage.malloc import release_freed_memory
from triage.pcm import AudioClip, clip_samples

settings = get_settings()


@bentoml.service(
    name="audio_classifier", workers=1, traffic={"timeout": 120}, runner_connection=RUNNER_CONNECTION
)
class AudioClassifier:
    """Classifies batches of 16 kHz mono clips as calm, distress, alarm or impact."""

    model_ref = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")

    def __init__(self) -> None:
        # Imported here, not at module level: every process of the graph (the arbiter, the API
        # worker, the other runners) imports this module to build the service graph, and only
        # this runner needs torch.
        from triage.audio_classifier.model import AudioClassifierModel

        set_torch_threads(settings.audio_classifier_threads)
        self.model = AudioClassifierModel.from_store(bentoml.models.get(self.model_ref.tag), pick_device())
        # Warm-up: the first prediction's one-time costs (the mel filterbank, torch's first
        # forward pass) are paid at start-up, before /readyz, not in a caller's request.
        self.model.predict([np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)])
        release_freed_memory()  # the loading's temporary buffers

    @bentoml.api(batchable=settings.batching, max_batch_size=32, max_latency_ms=10_000)
    def classify(self, clips: list[AudioClip]) -> list[AudioPrediction]:
        """Per-class softmax probabilities (mean over 4 s windows), label and P(not calm) per clip
        (16-bit PCM on the wire, see ``triage.pcm``; in-process callers may pass float32 arrays)."""
        return self.model.predict([clip_samples(c) for c in clips])
