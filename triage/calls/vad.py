"""Voice activity: cut a call's audio into utterances, each ending on a silence.

Energy in 30 ms hops against a threshold that follows the line's own noise floor: a hop is
speech when it is louder than an absolute floor *and* a margin above the noise measured in
the hops judged silent so far. It costs microseconds per hop inside the API worker, where a
neural VAD would add a model per call to a CPU the decoders need; Whisper later decides what
the words are, so the VAD only has to find where speech stops.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from triage.config import SAMPLE_RATE, Settings

HOP = 480
"""30 ms at 16 kHz."""
HOP_S = HOP / SAMPLE_RATE
PRE_ROLL_HOPS = 10
"""Hops kept before the first speech hop so a soft word onset is not cut off."""
NOISE_ADAPT = 0.05
"""Weight of each silent hop in the running noise level."""


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB full scale (-120 for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-6))


@dataclass
class Utterance:
    """A stretch of call audio from the first speech hop (less pre-roll) to the closing silence."""

    index: int
    start_s: float
    hops: list[np.ndarray] = field(default_factory=list)
    speech_hops: int = 0

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.hops) if self.hops else np.zeros(0, dtype=np.float32)

    @property
    def duration_s(self) -> float:
        return len(self.hops) * HOP_S

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


class Segmenter:
    """Feed 16 kHz samples with :meth:`push`; get back the utterances a silence closed."""

    def __init__(self, settings: Settings) -> None:
        self.floor_dbfs = settings.call_vad_floor_dbfs
        self.margin_db = settings.call_vad_margin_db
        self.silence_hops = max(1, round(settings.call_silence_ms / 1000 / HOP_S))
        self.min_speech_hops = max(1, round(settings.call_min_speech_ms / 1000 / HOP_S))
        self.max_hops = max(1, round(settings.call_max_utterance_s / HOP_S))
        self.noise_dbfs = self.floor_dbfs - self.margin_db
        self.pending = np.zeros(0, dtype=np.float32)
        self.hops_seen = 0
        self.pre_roll: deque[np.ndarray] = deque(maxlen=PRE_ROLL_HOPS)
        self.open: Utterance | None = None
        self.silent_run = 0
        self.next_index = 0

    @property
    def time_s(self) -> float:
        """Call time up to which audio has been judged."""
        return self.hops_seen * HOP_S

    def is_speech(self, hop: np.ndarray) -> bool:
        level = level_dbfs(hop)
        speech = level > max(self.floor_dbfs, self.noise_dbfs + self.margin_db)
        if not speech:
            self.noise_dbfs += NOISE_ADAPT * (level - self.noise_dbfs)
        return speech

    def push(self, samples: np.ndarray) -> list[Utterance]:
        """Judge the new samples; return the utterances that ended in them."""
        audio = np.concatenate([self.pending, samples]) if len(self.pending) else samples
        whole = len(audio) // HOP * HOP
        self.pending = audio[whole:].copy()
        closed: list[Utterance] = []
        for start in range(0, whole, HOP):
            done = self._hop(audio[start : start + HOP])
            if done is not None:
                closed.append(done)
        return closed

    def _hop(self, hop: np.ndarray) -> Utterance | None:
        speech = self.is_speech(hop)
        self.hops_seen += 1
        if self.open is None:
            if not speech:
                self.pre_roll.append(hop)
                return None
            start_s = self.time_s - HOP_S * (len(self.pre_roll) + 1)
            self.open = Utterance(self.next_index, start_s, [*self.pre_roll])
            self.next_index += 1
            self.pre_roll.clear()
        self.open.hops.append(hop)
        if speech:
            self.open.speech_hops += 1
            self.silent_run = 0
        else:
            self.silent_run += 1
        if self.silent_run >= self.silence_hops or len(self.open.hops) >= self.max_hops:
            return self._close()
        return None

    def _close(self) -> Utterance | None:
        utterance, self.open, self.silent_run = self.open, None, 0
        if utterance is None or utterance.speech_hops < self.min_speech_hops:
            return None  # a click or a breath: too little speech to decode
        return utterance

    def flush(self, tail: np.ndarray) -> list[Utterance]:
        """End of the call: judge the last samples and close whatever is still open."""
        closed = self.push(tail)
        if self.open is not None and len(self.pending):
            self.open.hops.append(self.pending)
        self.pending = np.zeros(0, dtype=np.float32)
        last = self._close()
        return [*closed, last] if last is not None else closed
