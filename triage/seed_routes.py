"""The original systems' own routes, kept for their existing clients (compatibility only).

Seed 000 (the emergency-voice classifier) took ``POST /predict`` with a multipart
``audio_file`` and the caller's ``text_input``, and ``POST /predict_s3`` (also spelt
``/s3predict``) with an S3 object and text; it answered with a label of its six classes and a
probability. Seed 002 (the danger-utterance classifier) took ``POST /predict`` with JSON
``{"sentences": [...]}`` and answered per sentence plus ``isDangerous``, which it sent as a
string: here it is a real boolean. Every answer keeps the seed's field names and adds our full
result, so an old client reads what it knows and a new one reads the rest.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from triage.analyze import Analysis
from triage.errors import TriageError
from triage.fusion.schemas import Decision
from triage.text_classifier.schemas import ClassifyTextResponse

SEED_CLASSES = ("regular", "help", "robbery", "sexual", "theft", "violence")
"""Seed 000's classes, in its order."""
_SEED_CRIME_SUBTYPES = {"robbery", "sexual", "theft", "violence"}


def seed_class(decision: Decision) -> str:
    """Our decision as one of seed 000's six classes.

    Not an emergency -> ``regular``; crime keeps its subtype where the seed had it (a threat
    or stalking, which the seed had no class for, counts as ``violence``); every other
    emergency (medical, fire, accident, a plain call for help, alarming sound) -> ``help``.
    """
    if not decision.is_emergency:
        return "regular"
    if decision.category == "crime":
        return decision.subtype if decision.subtype in _SEED_CRIME_SUBTYPES else "violence"
    return "help"


class SeedAudioPrediction(BaseModel):
    """Seed 000's answer (``label``, ``probability``) plus our whole analysis."""

    label: str = Field(description=f"One of seed 000's classes: {', '.join(SEED_CLASSES)}.")
    probability: float = Field(ge=0.0, le=1.0, description="How sure the decision behind the label is.")
    analysis: Analysis

    @classmethod
    def of(cls, analysis: Analysis) -> SeedAudioPrediction:
        decision = analysis.decision
        p = decision.emergency_probability
        return cls(
            label=seed_class(decision), probability=p if decision.is_emergency else 1.0 - p, analysis=analysis
        )


class SeedSentencePrediction(BaseModel):
    """One sentence as seed 002 reported it (``prediction``: ``danger`` or ``normal``)."""

    sentence: str
    prediction: str
    probability: float = Field(ge=0.0, le=1.0, description="Probability of danger (an emergency).")


class SeedTextPrediction(BaseModel):
    """Seed 002's answer (``predictions``, ``isDangerous`` as a real boolean) plus ours."""

    predictions: list[SeedSentencePrediction]
    isDangerous: bool  # noqa: N815 - the seed's own field name
    result: ClassifyTextResponse

    @classmethod
    def of(cls, result: ClassifyTextResponse) -> SeedTextPrediction:
        predictions = [
            SeedSentencePrediction(
                sentence=r.sentence,
                prediction="danger" if r.is_emergency else "normal",
                probability=r.emergency_probability,
            )
            for r in result.results
        ]
        return cls(predictions=predictions, isDangerous=result.is_emergency, result=result)


def s3_reference(body: dict[str, Any]) -> tuple[Any, str | None]:
    """The object (``s3_uri``, or seed 000's ``s3_key`` holding an ``s3://`` URI) and the text."""
    uri = body.get("s3_uri", body.get("s3_key"))
    if uri is None:
        raise TriageError(422, "invalid_request", 'Send {"s3_uri": "s3://bucket/key", "text": "..."}.')
    text = body.get("text", body.get("text_input"))
    if text is not None and not isinstance(text, str):
        raise TriageError(422, "invalid_request", "text: expected a string.")
    return uri, text
