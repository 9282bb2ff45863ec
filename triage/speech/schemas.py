"""What speech-to-text returns, shared by both engines, the runner, the corrector and the API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Word(BaseModel):
    """A word with its timing and the model's confidence in it (mean token probability)."""

    word: str
    start: float
    end: float
    probability: float = Field(ge=0.0, le=1.0)


class Segment(BaseModel):
    """A stretch of speech between two Whisper timestamp tokens."""

    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: list[Word] = Field(default_factory=list)


class Transcript(BaseModel):
    """A clip's transcription; ``avg_logprob`` and word probabilities feed the corrector."""

    text: str
    language: str
    duration_s: float
    avg_logprob: float
    no_speech_prob: float
    segments: list[Segment]
    engine: str
