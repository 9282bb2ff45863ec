"""The ``/analyze`` pipeline: speech-to-text and sound in parallel, then correction, text, fusion.

Kept out of ``service.py`` so the service stays a thin HTTP layer: this module takes the
runner handles and a decoded clip and returns the whole analysis with per-stage timings.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from triage.audio_classifier.schemas import AudioPrediction
from triage.corrector.schemas import CorrectionItem, NBest, SegmentIn, SegmentOut
from triage.corrector.schemas import Word as CorrectionWord
from triage.fusion.model import LogisticFusion, audio_only
from triage.fusion.schemas import Decision
from triage.runner_calls import call_runner
from triage.text_classifier.schemas import TextPrediction
from triage.whisper.schemas import Hypothesis, Segment, Transcript


class Analysis(BaseModel):
    """Everything ``/analyze`` found out about one clip."""

    transcript: str = Field(description="What Whisper heard (or the transcript sent with the clip).")
    transcript_source: str = Field(description="'whisper' or 'client'.")
    corrected_transcript: str
    corrections: list[SegmentOut] = Field(description="Per segment: original, picked candidate, corrected.")
    speech: Transcript | None = Field(description="Whisper's full output; None when a transcript was sent.")
    text: TextPrediction | None = Field(description="None when no speech was heard.")
    audio: AudioPrediction
    decision: Decision
    timings_ms: dict[str, float]


class BatchItem(BaseModel):
    """One clip of ``/analyze/batch``: its analysis, or the error that refused it."""

    filename: str | None
    analysis: Analysis | None = None
    error: dict[str, Any] | None = None


class BatchAnalysis(BaseModel):
    """``/analyze/batch`` results, in upload order."""

    results: list[BatchItem]


def correction_items(transcript: Transcript) -> list[CorrectionItem]:
    """Whisper segments as corrector input, with word probabilities marking doubtful spans.

    A window whose beam left alternatives (``Transcript.alternatives``) is one item: its
    segments joined, with the window's hypotheses as the n-best, since each hypothesis spans
    the whole window.
    """
    by_id = {s.id: s for s in transcript.segments}
    groups: list[tuple[list[Segment], list[Hypothesis]]] = []
    grouped: set[int] = set()
    for window in transcript.alternatives:
        segments = [by_id[i] for i in window.segments if i in by_id]
        if segments:
            groups.append((segments, window.hypotheses))
            grouped.update(s.id for s in segments)
    groups += [([s], []) for s in transcript.segments if s.id not in grouped]
    groups.sort(key=lambda g: g[0][0].id)
    items = [_correction_item(segments, hypotheses) for segments, hypotheses in groups]
    return [item for item in items if item.segment.text]


def _correction_item(segments: list[Segment], hypotheses: list[Hypothesis]) -> CorrectionItem:
    first = segments[0]
    return CorrectionItem(
        segment=SegmentIn(
            id=first.id,
            start=first.start,
            end=segments[-1].end,
            text=" ".join(s.text.strip() for s in segments if s.text.strip()),
            no_speech_prob=first.no_speech_prob,
            words=[
                CorrectionWord(word=w.word, start=w.start, end=w.end, probability=w.probability)
                for s in segments
                for w in s.words
            ],
            nbest=[NBest(rank=rank, text=h.text, score=h.logprob) for rank, h in enumerate(hypotheses, 1)],
        )
    )


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    async def run(self, name: str, awaitable: Any) -> Any:
        started = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.timings[name] = round((time.perf_counter() - started) * 1000, 1)


async def analyze_clip(
    clip: np.ndarray,
    known_transcript: str | None,
    *,
    whisper: Any,
    audio_classifier: Any,
    corrector: Any,
    text_classifier: Any,
    fusion: LogisticFusion,
) -> Analysis:
    """Run the whole graph on one decoded clip (runner handles are ``bentoml.depends`` proxies)."""
    watch = _Stopwatch()
    started = time.perf_counter()

    async def transcribe() -> Transcript | None:
        if known_transcript:
            return None
        [transcript] = await watch.run("speech_to_text", call_runner(whisper.to_async.transcribe, [clip]))
        return transcript

    speech, [audio] = await asyncio.gather(
        transcribe(), watch.run("audio_classifier", call_runner(audio_classifier.to_async.classify, [clip]))
    )
    if speech is None:
        original = corrected = (known_transcript or "").strip()
        corrections: list[SegmentOut] = []
    else:
        original = speech.text
        items = correction_items(speech)
        corrections = (
            await watch.run("correction", call_runner(corrector.to_async.correct, items)) if items else []
        )
        corrected = " ".join(c.corrected.strip() for c in corrections if c.corrected.strip())
    text = None
    if corrected:
        [text] = await watch.run(
            "text_classifier", call_runner(text_classifier.to_async.classify, [corrected])
        )
    fusion_started = time.perf_counter()
    decision = fusion.decide(text, audio) if text else audio_only(audio)
    watch.timings["fusion"] = round((time.perf_counter() - fusion_started) * 1000, 2)
    watch.timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    return Analysis(
        transcript=original,
        transcript_source="client" if known_transcript else "whisper",
        corrected_transcript=corrected,
        corrections=corrections,
        speech=speech,
        text=text,
        audio=audio,
        decision=decision,
        timings_ms=watch.timings,
    )
