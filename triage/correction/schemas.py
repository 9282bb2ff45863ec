"""Request and response of ``POST /ec/correct``, the original corrector's ASR JSON, validated.

Field names follow the original project (seeds/001) so existing clients keep working;
everything is optional except ``segments[].text``, and unknown fields are ignored so an
ASR engine may send more than the corrector reads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage.config import get_settings

_settings = get_settings()


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Token(_Lenient):
    """One decoder token; ``logprob`` or ``confidence`` marks uncertain stretches."""

    text: str | None = None
    id: int | None = None
    logprob: float | None = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    start: float | None = None
    end: float | None = None


class Word(_Lenient):
    """One word with its confidence (Whisper's word probability)."""

    word: str | None = None
    text: str | None = None
    start: float | None = None
    end: float | None = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    probability: float | None = Field(None, ge=0.0, le=1.0)
    logprob: float | None = None

    @property
    def surface(self) -> str:
        return (self.word if self.word is not None else self.text or "").strip()

    @property
    def score(self) -> float | None:
        return self.confidence if self.confidence is not None else self.probability


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
    model_version: str | None = None
    media: dict[str, Any] | str | None = None
    encoders: dict[str, Any] | list[Any] | str | None = None
    decoder: dict[str, Any] | str | None = None
    segments: list[SegmentIn] = Field(min_length=1, max_length=_settings.max_segments)
    hotwords: list[str] = Field(default_factory=list, max_length=_settings.max_lexicon_words)
    domain_lexicon: list[str] = Field(default_factory=list, max_length=_settings.max_lexicon_words)


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
    model_version: str | None = None
    segments: list[SegmentOut]


def to_items(request: CorrectRequest) -> list[CorrectionItem]:
    """One runner item per segment, each with the request's hotwords and domain lexicon."""
    return [
        CorrectionItem(segment=s, hotwords=request.hotwords, domain_lexicon=request.domain_lexicon)
        for s in request.segments
    ]
