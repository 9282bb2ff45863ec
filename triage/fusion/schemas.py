"""The fused decision returned by ``/analyze``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from triage.audio_classifier.schemas import AudioPrediction
from triage.text_classifier.schemas import TextPrediction


class Evidence(BaseModel):
    """What each model said, so a dispatcher can see why the decision was made."""

    text: TextPrediction | None = Field(description="None when the clip holds no speech.")
    audio: AudioPrediction


class Decision(BaseModel):
    """Is this an emergency, of what kind, how sure."""

    is_emergency: bool
    emergency_probability: float = Field(ge=0.0, le=1.0)
    category: str = Field(description="Text category: 'normal' unless is_emergency.")
    subtype: str | None = Field(
        None, description="The text model's subtype of the category (crime: robbery, theft, sexual, ...)."
    )
    agency: str | None = Field(
        None, description="Who to dispatch: '112' (police), '119' (fire, rescue, EMS) or '112+119'."
    )
    category_probabilities: dict[str, float]
    method: str = Field(
        description="'logistic' (the trained fusion model), 'audio_only' (no speech heard) or "
        "'weighted_average' (the baseline)."
    )
    evidence: Evidence
