"""A shorter encoder context for windows shorter than 30 s (whisper.cpp's ``audio_ctx``).

Whisper pads every window to 30 s, so a 5-s clip pays six times the encoder work its audio
needs, and the encoder dominates the cost of a short clip on CPU. CTranslate2's encoder takes
fewer than Whisper's 3,000 input frames (it slices the positional embedding), so each batch
is encoded over :func:`~triage.whisper.chunks.context_frames` of its longest window only.
Word timestamps stay valid because faster-whisper aligns words over the window's own
duration, which the shortened context always covers.
"""

from __future__ import annotations

import numpy as np

from triage.whisper.alternatives import NBestPipeline
from triage.whisper.chunks import context_frames


class ShortContextPipeline(NBestPipeline):
    """The n-best batched pipeline, encoding each batch over its longest window's context only."""

    def forward(self, features: np.ndarray, tokenizer, chunks_metadata: list[dict], options):
        frames = min(features.shape[-1], context_frames(max(chunk["duration"] for chunk in chunks_metadata)))
        trimmed = np.ascontiguousarray(features[..., :frames])
        return super().forward(trimmed, tokenizer, chunks_metadata, options)
