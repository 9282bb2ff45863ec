"""What the audio classifier returns, shared by the runner, the composed service and fusion."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AudioPrediction(BaseModel):
    """The acoustic judgement of one clip.

    ``probabilities`` are softmax probabilities (they sum to 1), averaged over the clip's
    windows, keyed by the label set stored with the model. ``distress_probability`` is
    ``1 - P(calm)``: the chance that anything alarming (distress, alarm, impact) is heard.
    """

    label: str
    probabilities: dict[str, float]
    distress_probability: float = Field(ge=0.0, le=1.0)
    windows: int = Field(ge=1, description="How many fixed-length windows the clip was cut into.")
    duration_s: float = Field(ge=0.0)
