"""Load the openai-whisper checkpoint that ``training.whisper.convert`` writes into the store.

The converter stores the alignment heads beside the weights because a local-path
``whisper.load_model`` has no other way to learn them, and word timestamps need them.
"""

from __future__ import annotations

from pathlib import Path

import torch


def load_converted_model(path: Path, device: str = "cpu") -> torch.nn.Module:
    """``whisper.load_model`` plus the alignment heads stored by this converter.

    Only word timestamps need the heads; plain transcription can use
    ``whisper.load_model(path)`` directly.
    """
    import whisper  # deferred: importing whisper is slow and only needed here

    model = whisper.load_model(str(path), device=device)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("alignment_heads"):
        model.set_alignment_heads(checkpoint["alignment_heads"])
    return model
