"""``Corrector``: the ASR error corrector as its own adaptive-batching BentoML service.

The batching unit is a segment (with its request's hotwords and domain lexicon), so the
segments of one request and of concurrent requests are merged by BentoML's dispatcher
into one list, and the pipeline makes one kiwipiepy call per segment and one seq2seq pass
per stage for all of them (see ``triage.corrector.pipeline``).
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from triage.config import RUNNER_CONNECTION, get_settings
from triage.corrector import MODEL_NAME
from triage.corrector.schemas import CorrectionItem, SegmentOut
from triage.device import pick_device, set_torch_threads
from triage.malloc import release_freed_memory

settings = get_settings()


@bentoml.service(name="corrector", workers=1, traffic={"timeout": 120}, runner_connection=RUNNER_CONNECTION)
class Corrector:
    """Corrects batches of ASR segments with the corrector model of the store."""

    model_ref = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")

    def __init__(self) -> None:
        # Imported here: every process of the graph imports this module, only this runner
        # needs torch, transformers and kiwipiepy.
        from triage.corrector.pipeline import CorrectionPipeline

        set_torch_threads(settings.corrector_threads)
        metadata = dict(self.model_ref.info.metadata)
        self.pipeline = CorrectionPipeline.from_path(
            Path(self.model_ref.path), metadata, device=pick_device()
        )
        self.pipeline.correct_texts(["은급으로 실려갔어요"])  # warm-up: first-call costs out of requests
        release_freed_memory()  # the loading's temporary buffers

    @bentoml.api(batchable=settings.batching, max_batch_size=64, max_latency_ms=10_000)
    def correct(self, items: list[CorrectionItem]) -> list[SegmentOut]:
        """Correct each segment conservatively (a correct transcript comes back unchanged)."""
        return self.pipeline.correct(items)
