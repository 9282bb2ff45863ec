"""``Whisper``: speech to text as its own adaptive-batching BentoML service.

Concurrent ``transcribe`` calls are merged by BentoML's dispatcher into one list of clips,
which the configured engine decodes as one batch (see ``triage.whisper.engines``).
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from triage.config import RUNNER_CONNECTION, get_settings
from triage.malloc import release_freed_memory
from triage.pcm import AudioClip, clip_samples
from triage.whisper.engines import call_decoding, load_engine
from triage.whisper.schemas import Transcript

settings = get_settings()


@bentoml.service(name="whisper", workers=1, traffic={"timeout": 300}, runner_connection=RUNNER_CONNECTION)
class Whisper:
    """Transcribes batches of 16 kHz mono clips with the Whisper model of the store."""

    model_ref = bentoml.models.BentoModel(f"{settings.whisper_model}:latest")

    def __init__(self) -> None:
        self.engine = load_engine(Path(self.model_ref.path), settings)
        self.call_engine = self.engine.with_decoding(call_decoding(settings))
        release_freed_memory()  # the loading's temporary buffers

    @bentoml.api(batchable=settings.batching, max_batch_size=16, max_latency_ms=30_000)
    def transcribe(self, clips: list[AudioClip]) -> list[Transcript]:
        """Transcribe each clip (16 kHz; 16-bit PCM on the wire, see ``triage.pcm``) in the configured
        language. In-process callers may pass float32 arrays."""
        return self.engine.transcribe_batch([clip_samples(c) for c in clips])

    @bentoml.api(batchable=settings.batching, max_batch_size=16, max_latency_ms=30_000)
    def transcribe_live(self, clips: list[AudioClip]) -> list[Transcript]:
        """``transcribe`` with live calls' decoding (greedy by default, no fallback): a call
        waits on each of these decodes, an uploaded clip only on its one."""
        return self.call_engine.transcribe_batch([clip_samples(c) for c in clips])
