"""The live-call WebSocket protocol: what the client sends, what the server answers, how it ends.

One module holds every message so the docs (``docs/LIVE_CALLS.md``), the server and the test
client read the same names. Client control messages are JSON text frames; audio is binary
frames. Every server event carries ``seq`` (strictly increasing within a call, so a client can
tell that nothing was lost or reordered) and ``call_time_s``, the point of the call's audio it
refers to, which is what a dispatcher's timeline needs (wall-clock time says nothing about
where in the call something was said).
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.fusion.schemas import Decision


class CloseCode(IntEnum):
    """WebSocket close codes of a call: 1000 after a summary, the 4xxx range for refusals."""

    NORMAL = 1000
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    BAD_MESSAGE = 4000
    BAD_START = 4001
    NOT_STARTED = 4002
    BAD_PCM = 4003
    BAD_SAMPLE_RATE = 4004
    EXPECTED_BINARY = 4005
    BAD_FRAME_SIZE = 4006
    UNSUPPORTED_ENCODING = 4007
    IDLE_TIMEOUT = 4008
    CALL_TOO_LONG = 4009


class CallError(Exception):
    """Why a call ends early: an ``error`` event with ``code`` and ``message``, then ``close``."""

    def __init__(self, close: CloseCode, code: str, message: str) -> None:
        super().__init__(message)
        self.close = close
        self.code = code
        self.message = message


class Disconnected(Exception):
    """The client went away: nothing more can be sent to it."""


# ---- client to server -------------------------------------------------------------------


class Start(BaseModel):
    """The first message of a call: how the audio that follows is encoded."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["start"]
    sample_rate: int = Field(description="Samples per second of the PCM frames (resampled to 16 kHz).")
    encoding: str = Field("pcm_s16le", description="Only 'pcm_s16le' (mono, 16-bit little-endian).")
    language: str | None = Field(None, description="Must be the served language when given (e.g. 'ko').")
    hotwords: list[str] = Field(default_factory=list, description="Words the corrector should prefer.")


def parse_json(text: str) -> dict[str, Any]:
    """A text frame as a JSON object, or a :class:`CallError` saying it is not one."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise CallError(
            CloseCode.EXPECTED_BINARY,
            "expected_binary",
            "Text frames carry JSON control messages ('start', 'stop'); send audio as binary frames.",
        )
    return message


def parse_start(message: dict[str, Any]) -> Start:
    """The ``start`` message, validated; anything else is a malformed start."""
    try:
        return Start.model_validate(message)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())
        raise CallError(CloseCode.BAD_START, "bad_start", f"Malformed 'start' message: {problems}") from None


# ---- server to client -------------------------------------------------------------------


class Event(BaseModel):
    """Fields of every server event."""

    type: str
    seq: int = Field(description="1, 2, 3, ... within the call.")
    call_time_s: float = Field(description="Seconds of call audio the event refers to.")


class Started(Event):
    type: Literal["started"] = "started"
    call_id: str
    limits: dict[str, float]


class WordConfidence(BaseModel):
    word: str
    start: float
    end: float
    probability: float


class Partial(Event):
    """The open utterance as heard so far; ``stable`` is the part two decodes agreed on."""

    type: Literal["partial"] = "partial"
    utterance: int
    text: str
    stable: str
    unstable: str


class SegmentEvent(Event):
    """A finished utterance: committed text, its correction and per-word confidences."""

    type: Literal["segment"] = "segment"
    utterance: int
    start: float
    end: float
    text: str
    corrected_text: str
    words: list[WordConfidence]
    avg_logprob: float
    no_speech_prob: float


class Sound(Event):
    """The sound model on one sliding window (screams, alarms, impacts, even without words)."""

    type: Literal["sound"] = "sound"
    start: float
    end: float
    label: str
    probabilities: dict[str, float]
    distress_probability: float


class TriageUpdate(Event):
    """The running decision: the call's strongest evidence so far, never lowered by a calm stretch."""

    type: Literal["triage"] = "triage"
    is_emergency: bool
    category: str
    subtype: str | None
    agency: str | None
    probability: float = Field(description="Highest fused P(emergency) of the call so far.")
    current_probability: float = Field(description="Fused P(emergency) of the latest update alone.")
    trigger: str = Field(description="'segment' or 'sound': what caused this update.")
    evidence: dict[str, Any] = Field(description="The decision's text and audio evidence.")


class Alert(Event):
    """Sent once: the call first crossed the emergency threshold at ``call_time_s``."""

    type: Literal["alert"] = "alert"
    category: str
    subtype: str | None
    agency: str | None
    probability: float
    trigger: str


class Summary(Event):
    """The end of a call."""

    type: Literal["summary"] = "summary"
    duration_s: float
    transcript: str
    corrected_transcript: str
    segments: int
    decision: Decision | None = Field(description="None when nothing was heard at all.")
    alert_call_time_s: float | None
    time_to_alert_s: float | None = Field(
        description="Seconds from the end of the utterance (or sound window) that raised the alert "
        "to the moment the alert was sent."
    )
    timings_ms: dict[str, dict[str, float]] = Field(
        description="Per stage: calls, total and max milliseconds of runner time."
    )


class ErrorEvent(Event):
    type: Literal["error"] = "error"
    code: str
    message: str
