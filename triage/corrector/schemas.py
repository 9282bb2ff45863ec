"""Request and response of ``POST /ec/correct``, the original corrector's ASR JSON, validated.

Field names follow the original project (seeds/001) so existing clients keep working;
everything is optional except ``segments[].text``, and unknown fields are ignored so an
ASR engine may send more than the corrector reads.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.config import get_settings
from triage.limits import at_most
from triage.unicode_checks import has_lone_surrogate


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Token(_Lenient):
    """One decoder token; ``logprob`` or ``confidence`` marks uncertain stretches.

    Times come as ``start``/``end`` (Whisper) or ``t0``/``t1`` (the original AV-ASR client).
    """

    text: str | None = None
    id: int | None = None
    logprob: float | None = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    start: float | None = Field(None, validation_alias=AliasChoices("start", "t0"))
    end: float | None = Field(None, validation_alias=AliasChoices("end", "t1"))


class Word(_Lenient):
    """One word with how sure the recogniser was of it.

    Whisper sends ``{word, start, end, probability}``, the original AV-ASR client
    ``{text, t0, t1, logprob, confidence}``; both spellings fill the same fields, so the
    pipeline reads one name per idea.
    """

    word: str | None = Field(None, validation_alias=AliasChoices("word", "text"))
    start: float | None = Field(None, validation_alias=AliasChoices("start", "t0"))
    end: float | None = Field(None, validation_alias=AliasChoices("end", "t1"))
    probability: float | None = Field(
        None, ge=0.0, le=1.0, validation_alias=AliasChoices("probability", "confidence")
    )
    logprob: float | None = None

    @property
    def surface(self) -> str:
        return (self.word or "").strip()


class NBest(_Lenient):
    """An alternative transcript of the segment from the ASR beam."""

    rank: int | None = None
    text: str
    score: float | None = None
    confidence: float | None = None


class SegmentIn(_Lenient):
    """A segment of the ASR output; only ``text`` is required."""

    id: int | str | None = None
    start: float | None = None
    end: float | None = None
    text: str
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    no_speech_prob: float | None = Field(None, ge=0.0, le=1.0)
    frame_entropy: float | None = None
    tokens: list[Token] = Field(default_factory=list)
    words: list[Word] = Field(default_factory=list)
    nbest: list[NBest] = Field(default_factory=list)


class CorrectRequest(_Lenient):
    """Body of ``POST /ec/correct``."""

    request_id: str | None = None
    model_version: Any = Field(
        None, description="Any JSON value (a string, or {component: version}); echoed back as it came."
    )
    media: dict[str, Any] | str | None = None
    encoders: dict[str, Any] | list[Any] | str | None = None
    decoder: dict[str, Any] | str | None = None
    segments: list[SegmentIn] = Field(min_length=1, description="At most TRIAGE_MAX_SEGMENTS.")
    hotwords: list[str] = Field(default_factory=list, description="At most TRIAGE_MAX_LEXICON_WORDS.")
    domain_lexicon: list[str] = Field(default_factory=list, description="At most TRIAGE_MAX_LEXICON_WORDS.")

    @field_validator("segments")
    @classmethod
    def _segments_limit(cls, segments: list[SegmentIn]) -> list[SegmentIn]:
        return at_most(segments, get_settings().max_segments)

    @field_validator("hotwords", "domain_lexicon")
    @classmethod
    def _lexicon_limit(cls, words: list[str]) -> list[str]:
        return at_most(words, get_settings().max_lexicon_words)

    @model_validator(mode="after")
    def _encodable(self) -> CorrectRequest:
        """Every string of the request goes to the runner as UTF-8: refuse one that cannot."""
        if has_lone_surrogate(json.dumps(self.model_dump(mode="python"), ensure_ascii=False, default=str)):
            raise ValueError(
                "a text holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not valid Unicode"
            )
        return self


class CorrectionItem(_Lenient):
    """What the runner corrects: one segment plus its request's hotwords and lexicon.

    Segments are the batching unit, so each carries the request context it needs; the
    runner can then mix segments of concurrent requests in one model call.
    """

    segment: SegmentIn
    hotwords: list[str] = Field(default_factory=list)
    domain_lexicon: list[str] = Field(default_factory=list)


class SegmentOut(BaseModel):
    """A corrected segment: what came in, what the rerank picked, its gain, and the final text."""

    id: int | str | None = None
    start: float | None = None
    end: float | None = None
    original: str
    picked_candidate: str | None = None
    gain: float = 0.0
    corrected: str


class CorrectResponse(BaseModel):
    """Body of the ``POST /ec/correct`` response."""

    request_id: str | None = None
    model_version: Any = None
    segments: list[SegmentOut]


def to_items(request: CorrectRequest) -> list[CorrectionItem]:
    """One runner item per segment, each with the request's hotwords and domain lexicon."""
    return [
        CorrectionItem(segment=s, hotwords=request.hotwords, domain_lexicon=request.domain_lexicon)
        for s in request.segments
    ]
