"""What speech-to-text returns, shared by both engines, the runner, the corrector and the API."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

WHISPER_VOCABULARY = 51865
# A clip in which nothing was transcribed has no token to average over. It reports the
# log-probability of one token guessed uniformly over Whisper's multilingual vocabulary,
# "no evidence at all": finite, so the field stays a JSON number, and far below any real
# decoding, so it can never read as confident (0.0 would read as certainty).
NOTHING_HEARD_LOGPROB = -math.log(WHISPER_VOCABULARY)


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
    avg_logprob: float = Field(
        description="Mean token log-probability of the 30-s window this segment was decoded in "
        "(both engines score a window as a whole, so its segments share the value)."
    )
    no_speech_prob: float = Field(description="Whisper's no-speech probability for that window.")
    words: list[Word] = Field(default_factory=list)


class Hypothesis(BaseModel):
    """One finished hypothesis of a window's beam search: its text and Whisper's log-probability of it."""

    text: str
    logprob: float = Field(description="Sum of the hypothesis's token log-probabilities (natural log).")


class WindowAlternatives(BaseModel):
    """A decoded window's n-best: its beam's hypotheses, best first (the first is the one transcribed)."""

    segments: list[int] = Field(description="Ids of the segments the best hypothesis was split into.")
    hypotheses: list[Hypothesis]


class Transcript(BaseModel):
    """A clip's transcription; its segments' word and no-speech probabilities feed the corrector."""

    text: str
    language: str
    duration_s: float
    avg_logprob: float = Field(
        description="Mean log-probability per decoded token over the whole clip: the segments' "
        "values weighted by their token counts, so long segments count more and windows in which "
        "nothing was transcribed do not count. A clip with no segment at all reports "
        f"{NOTHING_HEARD_LOGPROB:.2f} (-ln of Whisper's vocabulary size, a uniform guess), never 0.0."
    )
    no_speech_prob: float = Field(
        ge=0.0,
        le=1.0,
        description="Whisper's no-speech probability averaged over the clip's 30-s windows, weighted by "
        "window length; a window in which nothing was transcribed counts as 1.0.",
    )
    segments: list[Segment]
    engine: str
    alternatives: list[WindowAlternatives] = Field(
        default_factory=list,
        description="Per window decoded by beam search, the beam's finished hypotheses (the corrector "
        "chooses among them); empty for greedy decoding, temperature-fallback windows and the openai engine.",
    )
