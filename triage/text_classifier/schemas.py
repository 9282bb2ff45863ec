"""What the text classifier returns, shared by the model, the runner and ``POST /classify/text``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.config import get_settings
from triage.limits import at_most


class TextPrediction(BaseModel):
    """The classifier's verdict on one text, with temperature-calibrated probabilities."""

    label: str = Field(description="Most probable category (category set stored with the model).")
    probabilities: dict[str, float] = Field(description="Calibrated probability of every category.")
    subtype: str | None = Field(
        None,
        description="Most probable subtype of the category (crime: robbery, theft, sexual, violence, "
        "threat); None for categories without subtypes.",
    )
    subtype_probability: float | None = Field(None, ge=0.0, le=1.0, description="P(subtype | category).")
    emergency_probability: float = Field(ge=0.0, le=1.0, description="1 - P(normal).")
    is_emergency: bool = Field(description="emergency_probability >= the model's threshold.")
    truncated: bool = Field(description="The text was longer than the model's token window.")


class ClassifyTextRequest(BaseModel):
    """Body of ``POST /classify/text``."""

    model_config = ConfigDict(extra="forbid")

    sentences: list[str] = Field(
        min_length=1, description="Korean utterances (at most TRIAGE_MAX_SENTENCES)."
    )

    @field_validator("sentences")
    @classmethod
    def _sentences_limit(cls, sentences: list[str]) -> list[str]:
        return at_most(sentences, get_settings().max_sentences)


class SentenceResult(TextPrediction):
    """A prediction together with the sentence it is about."""

    sentence: str


class ClassifyTextResponse(BaseModel):
    """Per-sentence results and the overall verdict (a real boolean, not a string)."""

    results: list[SentenceResult]
    is_emergency: bool = Field(description="Whether any sentence is an emergency.")
    prediction_time_ms: float
