"""What the text classifier returns, shared by the model, the runner and ``POST /classify/text``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from triage.config import get_settings


class TextPrediction(BaseModel):
    """The classifier's verdict on one text, with temperature-calibrated probabilities."""

    label: str = Field(description="Most probable category (label set stored with the model).")
    probabilities: dict[str, float] = Field(description="Calibrated probability of every label.")
    emergency_probability: float = Field(ge=0.0, le=1.0, description="1 - P(normal).")
    is_emergency: bool = Field(description="emergency_probability >= the model's threshold.")
    truncated: bool = Field(description="The text was longer than the model's token window.")


class ClassifyTextRequest(BaseModel):
    """Body of ``POST /classify/text``."""

    model_config = ConfigDict(extra="forbid")

    sentences: list[str] = Field(
        min_length=1, max_length=get_settings().max_sentences, description="Korean utterances."
    )


class SentenceResult(TextPrediction):
    """A prediction together with the sentence it is about."""

    sentence: str


class ClassifyTextResponse(BaseModel):
    """Per-sentence results and the overall verdict (a real boolean, not a string)."""

    results: list[SentenceResult]
    is_emergency: bool = Field(description="Whether any sentence is an emergency.")
    prediction_time_ms: float
