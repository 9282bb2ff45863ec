"""The fused decision returned by ``/analyze``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from triage.sound.schemas import AudioPrediction
from triage.text.schemas import TextPrediction


class Evidence(BaseModel):
    """What each model said, so a dispatcher can see why the decision was made."""

    text: TextPrediction | None = Field(description="None when the clip holds no speech.")
    audio: AudioPrediction


class Decision(BaseModel):
    """Is this an emergency, of what kind, how sure."""

    is_emergency: bool
    emergency_probability: float = Field(ge=0.0, le=1.0)
    category: str = Field(description="Text category: 'normal' unless is_emergency.")
    category_probabilities: dict[str, float]
    method: str = Field(
        description="'logistic' (the trained fusion model), 'audio_only' (no speech heard) or "
        "'weighted_average' (the baseline)."
    )
    evidence: Evidence
