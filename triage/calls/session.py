"""One live call: utterances to the speech runner, sliding windows to the sound runner, running triage.

Two workers per call share nothing but the call's state, which lives in one event loop:

- the **speech worker** decodes each utterance the VAD closed (a ``segment``, then the
  corrector and the text classifier) and, when none is waiting, re-decodes the open utterance
  for a ``partial``;
- the **sound worker** classifies the last few seconds of the call at a steady hop (``sound``).

Both call the same runners as ``/analyze`` (``triage.analyze`` builds the corrector input), so
windows of concurrent calls and uploads meet in the runners' adaptive batches. After each
segment or sound window the fused decision is recomputed; the call keeps its highest fused
probability (and that decision's category), so a calm last sentence cannot undo an emergency
heard earlier, and the ``alert`` goes out once, on the first crossing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.analyze import correction_items
from triage.audio_classifier.schemas import AudioPrediction
from triage.calls.agreement import LocalAgreement
from triage.calls.protocol import (
    Alert,
    CallError,
    CloseCode,
    Disconnected,
    ErrorEvent,
    Event,
    Partial,
    SegmentEvent,
    Sound,
    Start,
    Started,
    Summary,
    TriageUpdate,
    WordConfidence,
)
from triage.calls.vad import HOP_S, Segmenter, Utterance, level_dbfs
from triage.config import SAMPLE_RATE, Settings
from triage.fusion.model import LogisticFusion, audio_only
from triage.fusion.schemas import Decision
from triage.runner_calls import call_runner
from triage.text_classifier.schemas import TextPrediction
from triage.whisper.schemas import Transcript

SOUND_CONTEXT_WINDOWS = 3
"""Sound windows averaged into the audio evidence of a decision: the few seconds up to the
moment decided on, so a scream is judged with its surroundings rather than diluted over a long call."""
SOUND_HISTORY = 64
"""Sound windows kept per call: enough to find those of an utterance decoded late (a client
streaming faster than real time runs the sound model ahead of Whisper)."""

logger = logging.getLogger("triage")
PAUSE_HOPS = 5
"""Silent 30 ms hops after speech that start a re-decode at once (the pause may end the utterance)."""
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Runners:
    """The handles a call decodes with (``bentoml.depends`` proxies and the in-process fusion)."""

    whisper: Any
    audio_classifier: Any
    corrector: Any
    text_classifier: Any
    fusion: LogisticFusion


@dataclass
class SoundWindow:
    start_s: float
    end_s: float
    audio: np.ndarray
    queued_at: float


class StageTimes:
    """Per stage: calls, total and longest runner time in milliseconds."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}

    def add(self, stage: str, ms: float) -> None:
        entry = self.stages.setdefault(stage, {"calls": 0, "total_ms": 0.0, "max_ms": 0.0})
        entry["calls"] += 1
        entry["total_ms"] = round(entry["total_ms"] + ms, 3)
        entry["max_ms"] = round(max(entry["max_ms"], ms), 3)

    async def run(self, stage: str, awaitable: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.add(stage, (time.perf_counter() - started) * 1000)


def mean_prediction(predictions: list[AudioPrediction]) -> AudioPrediction:
    """Several windows' predictions as one, the way the sound model averages a clip's windows."""
    labels = predictions[0].probabilities
    probabilities = {k: float(np.mean([p.probabilities[k] for p in predictions])) for k in labels}
    return AudioPrediction(
        label=max(probabilities, key=probabilities.__getitem__),
        probabilities=probabilities,
        distress_probability=float(np.clip(np.mean([p.distress_probability for p in predictions]), 0, 1)),
        windows=sum(p.windows for p in predictions),
        duration_s=sum(p.duration_s for p in predictions),
    )


class CallSession:
    """State and workers of one call; :meth:`feed` audio, then :meth:`finish` for the summary."""

    def __init__(self, runners: Runners, settings: Settings, start: Start, send: Send) -> None:
        self.runners = runners
        self.settings = settings
        self.hotwords = start.hotwords
        self._send = send
        self._send_lock = asyncio.Lock()
        self.call_id = uuid.uuid4().hex
        self.seq = 0
        self.started_at = time.monotonic()
        self.samples = 0
        self.segmenter = Segmenter(settings)
        self.agreement = LocalAgreement()
        self.agreement_utterance = -1
        self.partial_hops = 0
        self.partial_speech_hops = 0
        self.partial_decode_s = 0.0
        self.last_partial: tuple[int, int, Transcript] | None = None
        """(utterance, speech hops it held, transcript) of the latest re-decode."""
        self.closed: deque[tuple[Utterance, float]] = deque()
        self.windows: deque[SoundWindow] = deque()
        self.window_samples = round(settings.call_sound_window_s * SAMPLE_RATE)
        self.hop_samples = round(settings.call_sound_hop_s * SAMPLE_RATE)
        self.recent_audio = np.zeros(0, dtype=np.float32)
        self.next_window_at = self.window_samples  # whole windows, as the sound model was trained on
        self.window_end = 0
        self.segments: list[SegmentEvent] = []
        self.sounds: deque[tuple[float, AudioPrediction]] = deque(maxlen=SOUND_HISTORY)
        self.texts: list[TextPrediction] = []
        self.peak: Decision | None = None
        self.alert: Alert | None = None
        self.time_to_alert_s: float | None = None
        self.times = StageTimes()
        self.wakeup = asyncio.Event()
        self.stopping = False
        self.failure: CallError | None = None
        self.failed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def call_time_s(self) -> float:
        return self.samples / SAMPLE_RATE

    async def emit(self, event: type[Event], call_time_s: float, **fields: Any) -> Event:
        """Number the event and send it; the lock keeps ``seq`` order equal to send order."""
        async with self._send_lock:
            self.seq += 1
            message = event(seq=self.seq, call_time_s=round(call_time_s, 3), **fields)
            await self._send(message.model_dump(mode="json"))
            return message

    async def begin(self) -> None:
        limits = {
            "max_seconds": self.settings.call_max_seconds,
            "idle_timeout_s": self.settings.call_idle_timeout_s,
            "min_frame_ms": self.settings.call_min_frame_ms,
            "max_frame_ms": self.settings.call_max_frame_ms,
        }
        await self.emit(Started, 0.0, call_id=self.call_id, limits=limits)
        self.tasks = [asyncio.create_task(self._guard(w)) for w in (self._speech_worker, self._sound_worker)]

    # ---- audio in ---------------------------------------------------------------------

    def feed(self, audio: np.ndarray) -> None:
        """New 16 kHz audio: cut utterances, queue sound windows, wake the workers."""
        now = time.monotonic()
        self.samples += len(audio)
        self.closed.extend((u, now) for u in self.segmenter.push(audio))
        self.recent_audio = np.concatenate([self.recent_audio, audio])[-self.window_samples :]
        while self.samples >= self.next_window_at:
            self._queue_window(now)
            self.next_window_at += self.hop_samples
        self.wakeup.set()

    def _queue_window(self, now: float) -> None:
        self.window_end = self.samples
        end_s = self.call_time_s
        audio = self.recent_audio.copy()
        if len(audio) and level_dbfs(audio) > self.settings.silence_dbfs:  # silence tells nothing
            self.windows.append(SoundWindow(end_s - len(audio) / SAMPLE_RATE, end_s, audio, now))

    async def finish(self, tail: np.ndarray) -> None:
        """The caller hung up (``stop``): decode what is left, then send the summary."""
        now = time.monotonic()
        self.samples += len(tail)
        self.recent_audio = np.concatenate([self.recent_audio, tail])[-self.window_samples :]
        self.closed.extend((u, now) for u in self.segmenter.flush(tail))
        if self.samples - self.window_end > SAMPLE_RATE // 2:
            self._queue_window(now)  # the call's last seconds, unless a window just covered them
        self.stopping = True
        self.wakeup.set()
        await asyncio.gather(*self.tasks)
        if self.failure is None:
            await self._summary()

    async def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def fail(self, error: CallError) -> None:
        await self.emit(ErrorEvent, self.call_time_s, code=error.code, message=error.message)

    # ---- workers ----------------------------------------------------------------------

    async def _guard(self, worker: Callable[[], Awaitable[None]]) -> None:
        """Run a worker; a runner that fails ends the call with an error instead of hanging it."""
        try:
            await worker()
        except asyncio.CancelledError:
            raise
        except Disconnected:
            if self.failure is None:
                self.failure = CallError(CloseCode.NORMAL, "disconnected", "The client went away.")
                self.failed.set()
        except Exception as exc:  # noqa: BLE001 - any runner failure ends this call, not the server
            logger.warning("call %s: %s", self.call_id, exc, exc_info=True)
            if self.failure is None:
                self.failure = CallError(
                    CloseCode.INTERNAL_ERROR, "runner_failed", f"A model runner failed: {type(exc).__name__}"
                )
                self.failed.set()

    async def _idle(self) -> bool:
        """Wait for new work; False once the call is stopping (or failed) and nothing is left."""
        if self.stopping or self.failure is not None:
            return False
        self.wakeup.clear()
        await self.wakeup.wait()
        return True

    async def _speech_worker(self) -> None:
        while self.failure is None:
            if self.closed:
                utterance, closed_at = self.closed[0]
                try:
                    await self._commit(utterance, closed_at)
                finally:
                    self.closed.popleft()  # only now: while it is decoded, sound alone does not decide
            elif self._partial_due():
                await self._partial()
            elif not await self._idle():
                return

    async def _sound_worker(self) -> None:
        while self.failure is None:
            if self.windows:
                await self._hear(self.windows.popleft())
            elif not await self._idle():
                return

    # ---- speech -----------------------------------------------------------------------

    def _partial_due(self) -> bool:
        """Re-decode the open utterance now?

        As soon as the caller pauses after new speech: if the pause turns out to end the
        utterance, this decode is its segment (:meth:`_reusable_partial`), started before the
        VAD's closing silence has passed. While the caller speaks, after as much new audio as
        the partial interval or the last decode took, whichever is longer, so re-decodes never
        hold Whisper more than about half the time.
        """
        open_ = self.segmenter.open
        if self.stopping or open_ is None or open_.speech_hops < self.segmenter.min_speech_hops:
            return False
        if open_.index != self.agreement_utterance:
            self.agreement, self.agreement_utterance = LocalAgreement(), open_.index
            self.partial_hops = self.partial_speech_hops = 0
        if open_.speech_hops == self.partial_speech_hops:
            return False  # nothing new was said since the last decode
        if self.segmenter.silent_run >= PAUSE_HOPS:
            return True
        interval_s = max(self.settings.call_partial_interval_s, self.partial_decode_s)
        return self.segmenter.silent_run == 0 and (len(open_.hops) - self.partial_hops) * HOP_S >= interval_s

    async def _transcribe(self, audio: np.ndarray) -> Transcript:
        [transcript] = await self.times.run(
            "speech_to_text", call_runner(self.runners.whisper.to_async.transcribe_live, [audio])
        )
        return transcript

    async def _partial(self) -> None:
        utterance = self.segmenter.open
        assert utterance is not None
        self.partial_hops = len(utterance.hops)
        heard_to = utterance.end_s
        speech_hops = self.partial_speech_hops = utterance.speech_hops
        started = time.monotonic()
        transcript = await self._transcribe(utterance.audio)
        self.partial_decode_s = time.monotonic() - started
        self.last_partial = (utterance.index, speech_hops, transcript)
        # Sent even when a silence closed the utterance meanwhile: the caller's words are on
        # screen until its segment is committed.
        stable, tentative = self.agreement.update(transcript.text)
        if stable or tentative:
            await self.emit(
                Partial,
                heard_to,
                utterance=utterance.index,
                text=" ".join(stable + tentative),
                stable=" ".join(stable),
                unstable=" ".join(tentative),
            )

    async def _commit(self, utterance: Utterance, closed_at: float) -> None:
        # The segment's own stages, beside the runners': how long the closed utterance waited
        # for the speech worker (a re-decode in flight), whether it needed a decode of its own,
        # and the whole way from the closing silence to the ``segment`` event.
        self.times.add("segment_wait", (time.monotonic() - closed_at) * 1000)
        transcript = self._reusable_partial(utterance) or await self.times.run(
            "segment_decode", self._transcribe(utterance.audio)
        )
        if not transcript.text.strip():  # a scream, a cough: no words, the sound decides
            await self._hear_first(utterance, closed_at)
            await self._update("segment", utterance.end_s, closed_at)
            return
        shifted = shift_times(transcript, utterance.start_s)
        items = [i.model_copy(update={"hotwords": self.hotwords}) for i in correction_items(shifted)]
        corrections = (
            await self.times.run("correction", call_runner(self.runners.corrector.to_async.correct, items))
            if items
            else []
        )
        corrected = " ".join(c.corrected.strip() for c in corrections if c.corrected.strip())
        segment = await self.emit(
            SegmentEvent,
            utterance.end_s,
            utterance=utterance.index,
            start=round(utterance.start_s, 3),
            end=round(utterance.end_s, 3),
            text=transcript.text.strip(),
            corrected_text=corrected,
            words=[
                WordConfidence(word=w.word, start=w.start, end=w.end, probability=w.probability)
                for s in shifted.segments
                for w in s.words
            ],
            avg_logprob=transcript.avg_logprob,
            no_speech_prob=transcript.no_speech_prob,
        )
        assert isinstance(segment, SegmentEvent)
        self.times.add("segment_sent", (time.monotonic() - closed_at) * 1000)
        self.segments.append(segment)
        # The sentence alone and with the sentences before it: context shows what one sentence
        # cannot ("he is not breathing" after "my father fell"), and a plain sentence is not
        # diluted by calm talk around it. One runner call carries both.
        readings = list(
            dict.fromkeys(t for t in (segment.corrected_text or segment.text, self._context()) if t)
        )
        if readings:
            self.texts = await self.times.run(
                "text_classifier", call_runner(self.runners.text_classifier.to_async.classify, readings)
            )
        await self._hear_first(utterance, closed_at)
        await self._update("segment", utterance.end_s, closed_at)

    async def _hear_first(self, utterance: Utterance, closed_at: float) -> None:
        """Fusion needs sound evidence too: before the first sound window, hear this utterance.

        Done after the ``segment`` is sent, which needs no sound, so the committed text does not
        wait for the sound model."""
        if not self.sounds:
            await self._hear(SoundWindow(utterance.start_s, utterance.end_s, utterance.audio, closed_at))

    def _reusable_partial(self, utterance: Utterance) -> Transcript | None:
        """The latest re-decode of this utterance, if the caller said nothing after it began.

        Then it heard every word of the utterance (only the closing silence is missing), and
        committing it spares the segment a second decode of the same speech: the commonest case,
        a sentence re-decoded while its last word was spoken.
        """
        if self.last_partial is None:
            return None
        index, speech_hops, transcript = self.last_partial
        return transcript if index == utterance.index and speech_hops == utterance.speech_hops else None

    def _context(self) -> str:
        """The latest corrected segments, up to ``call_context_chars``: what the text model reads."""
        parts: list[str] = []
        size = 0
        for segment in reversed(self.segments):
            text = segment.corrected_text or segment.text
            if parts and size + len(text) > self.settings.call_context_chars:
                break
            parts.insert(0, text)
            size += len(text) + 1
        return " ".join(parts)[-self.settings.call_context_chars :].strip()

    # ---- sound and triage -------------------------------------------------------------

    async def _hear(self, window: SoundWindow) -> None:
        [prediction] = await self.times.run(
            "audio_classifier", call_runner(self.runners.audio_classifier.to_async.classify, [window.audio])
        )
        self.sounds.append((window.start_s, prediction))
        await self.emit(
            Sound,
            window.end_s,
            start=round(window.start_s, 3),
            end=round(window.end_s, 3),
            label=prediction.label,
            probabilities=prediction.probabilities,
            distress_probability=prediction.distress_probability,
        )
        await self._update("sound", window.end_s, window.queued_at)

    def _sound_evidence(self, call_time_s: float) -> AudioPrediction:
        """The last few sound windows that began before ``call_time_s`` (the first one if none did)."""
        before = [p for start_s, p in self.sounds if start_s < call_time_s] or [self.sounds[0][1]]
        return mean_prediction(before[-SOUND_CONTEXT_WINDOWS:])

    async def _update(self, trigger: str, call_time_s: float, heard_at: float) -> None:
        """Fuse the latest text and sound evidence; keep the call's strongest decision; alert once."""
        if not self.sounds:
            return
        if trigger == "sound" and not self.texts and (self.segmenter.open is not None or self.closed):
            return  # words are being decoded: the segment decides with them, not the sound alone
        started = time.perf_counter()
        audio = self._sound_evidence(call_time_s)
        fusion = self.runners.fusion
        decisions = [fusion.decide(text, audio) for text in self.texts] or [audio_only(audio)]
        decision = max(decisions, key=lambda d: d.emergency_probability)
        self.times.add("fusion", (time.perf_counter() - started) * 1000)
        if self.peak is None or decision.emergency_probability > self.peak.emergency_probability:
            self.peak = decision
        peak = self.peak
        verdict = {
            "category": peak.category,
            "subtype": peak.subtype,
            "agency": peak.agency,
            "probability": peak.emergency_probability,
            "trigger": trigger,
        }
        await self.emit(
            TriageUpdate,
            call_time_s,
            is_emergency=peak.is_emergency,
            current_probability=decision.emergency_probability,
            evidence=peak.evidence.model_dump(mode="json"),
            **verdict,
        )
        if peak.is_emergency and self.alert is None:
            self.time_to_alert_s = round(time.monotonic() - heard_at, 3)
            alert = await self.emit(Alert, call_time_s, **verdict)
            assert isinstance(alert, Alert)
            self.alert = alert

    async def _summary(self) -> None:
        await self.emit(
            Summary,
            self.call_time_s,
            duration_s=round(self.call_time_s, 3),
            transcript=" ".join(s.text for s in self.segments),
            corrected_transcript=" ".join(s.corrected_text or s.text for s in self.segments),
            segments=len(self.segments),
            decision=self.peak,
            alert_call_time_s=self.alert.call_time_s if self.alert else None,
            time_to_alert_s=self.time_to_alert_s,
            timings_ms=self.times.stages,
        )


def shift_times(transcript: Transcript, offset_s: float) -> Transcript:
    """An utterance's transcript with its times moved to call time."""
    segments = [
        s.model_copy(
            update={
                "start": round(s.start + offset_s, 3),
                "end": round(s.end + offset_s, 3),
                "words": [
                    w.model_copy(
                        update={"start": round(w.start + offset_s, 3), "end": round(w.end + offset_s, 3)}
                    )
                    for w in s.words
                ],
            }
        )
        for s in transcript.segments
    ]
    return transcript.model_copy(update={"segments": segments})
