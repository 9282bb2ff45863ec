"""``AudioClip``: how a decoded clip crosses the wire to the Whisper and audio classifier runners.

In-graph, ``bentoml.depends`` pickles arguments; by URL (``TRIAGE_<MODEL>_URL``) it sends JSON,
where a float32 array would travel as a list of decimal numbers, about ten bytes a sample and
slow to parse. A clip is therefore sent as 16-bit PCM: two bytes a sample, as raw bytes in a
pickle and as base64 text in JSON. Both wirings send the same samples, so a runner answers
the same whichever way it is wired. The models read 16 kHz audio from 16-bit sources, so the
quantisation step (about -96 dBFS) is far below anything they hear.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

PCM_SCALE = 32767.0


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (clipped) as little-endian signed 16-bit PCM."""
    scaled = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0) * PCM_SCALE
    return np.round(scaled).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit PCM as float32 samples in [-1, 1]."""
    if len(data) % 2:
        raise ValueError("16-bit PCM holds an even number of bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / PCM_SCALE


def _bytes_from_wire(value: Any) -> Any:
    """Raw bytes pass (pickle); a string is base64 (JSON)."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("pcm16 is not valid base64") from exc
    return value


Pcm16Bytes = Annotated[
    bytes,
    BeforeValidator(_bytes_from_wire),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


class AudioClip(BaseModel):
    """One 16 kHz mono clip as 16-bit little-endian PCM (base64 in JSON).

    A numpy array is accepted wherever an ``AudioClip`` is expected and converted here, so
    callers keep passing decoded clips (``whisper.to_async.transcribe([clip])``) in both wirings.
    """

    pcm16: Pcm16Bytes = Field(description="16 kHz mono samples, signed 16-bit little-endian.")

    @field_validator("pcm16")
    @classmethod
    def _whole_samples(cls, value: bytes) -> bytes:
        if len(value) % 2:
            raise ValueError("16-bit PCM holds an even number of bytes")
        return value

    @model_validator(mode="before")
    @classmethod
    def _from_array(cls, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return {"pcm16": to_pcm16(value)}
        return value

    @classmethod
    def from_array(cls, samples: np.ndarray) -> AudioClip:
        return cls(pcm16=to_pcm16(samples))

    def to_array(self) -> np.ndarray:
        return from_pcm16(self.pcm16)


def clip_samples(clip: AudioClip | np.ndarray) -> np.ndarray:
    """float32 samples of a clip, whether it came over the wire or from an in-process caller."""
    if isinstance(clip, AudioClip):
        return clip.to_array()
    return np.asarray(clip, dtype=np.float32).reshape(-1)
