"""Two Whisper inference engines behind one batch interface.

``ctranslate2`` (faster-whisper) runs int8 on CPU and float16 on GPU and is the fast
default; ``openai`` (openai-whisper, PyTorch) runs the same weights converted into an
openai checkpoint, as a reference and for users who want the original implementation.
Both take a batch of 16 kHz clips, decode their windows of up to 30 seconds in batches, and
return :class:`~triage.whisper.schemas.Transcript` objects with segments, timestamps,
log-probabilities, no-speech probabilities and per-word confidences. With VAD on, each
window is first cut down to the speech Silero finds, and times are mapped back to the clip.
The ``ctranslate2`` engine encodes a short window over its own length only
(``triage.whisper.short_context``) unless ``TRIAGE_WHISPER_SHORT_CONTEXT=0``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from triage.config import SAMPLE_RATE, Settings
from triage.device import cpu_threads, ctranslate2_device, pick_device
from triage.whisper.chunks import WINDOW_FRAMES, Window, context_frames, split_windows
from triage.whisper.schemas import (
    NOTHING_HEARD_LOGPROB,
    Hypothesis,
    Segment,
    Transcript,
    WindowAlternatives,
    Word,
)


class SpeechEngine(Protocol):
    """What the runner needs of an engine: a name and batch transcription."""

    name: str

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]: ...

    def with_decoding(self, settings: Settings) -> SpeechEngine: ...


def call_decoding(settings: Settings) -> Settings:
    """The decoding of live calls: ``call_whisper_beam_size`` and no temperature fallback.

    A call waits on every decode of its open utterance, so a beam or a fallback re-decode
    that an uploaded clip can afford holds the call's next partial, segment and alert back.
    """
    return replace(
        settings, whisper_beam_size=settings.call_whisper_beam_size, whisper_temperature_fallback=False
    )


def load_engine(model_dir: Path, settings: Settings, device: str | None = None) -> SpeechEngine:
    """The engine named by ``settings.whisper_engine`` over the weights stored in ``model_dir``
    (on ``device``, or the GPU when the engine's own library sees one)."""
    if settings.whisper_vad:
        from faster_whisper.vad import get_vad_model

        get_vad_model()  # Silero's ONNX file ships in the wheel: load it now, not on a first request
    if settings.whisper_engine == "ctranslate2":
        return CTranslate2Engine(model_dir / "ct2", settings, device or ctranslate2_device())
    if settings.whisper_engine == "openai":
        return OpenAIWhisperEngine(model_dir / "openai" / "model.pt", settings, device or pick_device())
    raise ValueError(f"Unknown whisper engine {settings.whisper_engine!r}; use 'ctranslate2' or 'openai'.")


# One decoded window: its segments (already in clip time), each with its decoded token count.
WindowResult = list[tuple[Segment, int]]


def _assemble(
    windows: list[Window],
    per_window: list[WindowResult],
    clips: list[np.ndarray],
    language: str,
    engine: str,
    per_window_hypotheses: list[list[Hypothesis]] | None = None,
) -> list[Transcript]:
    """Stitch per-window segments back into one transcript per clip, with clip-level confidences.

    A window's n-best (``per_window_hypotheses``) is kept when it has an alternative to offer.
    """
    hypotheses = per_window_hypotheses or [[] for _ in windows]
    grouped: list[list[tuple[Window, WindowResult, list[Hypothesis]]]] = [[] for _ in clips]
    for window, result, hyps in zip(windows, per_window, hypotheses, strict=True):
        grouped[window.clip].append((window, result, hyps))
    transcripts = []
    for clip, results in zip(clips, grouped, strict=True):
        segments = [seg for _, result, _ in results for seg, _ in result]
        for number, seg in enumerate(segments):
            seg.id = number
        alternatives = [
            WindowAlternatives(segments=[seg.id for seg, _ in result], hypotheses=hyps)
            for _, result, hyps in results
            if result and len(hyps) > 1
        ]
        text = " ".join(seg.text.strip() for seg in segments if seg.text.strip())
        transcripts.append(
            Transcript(
                text=text,
                language=language,
                duration_s=round(clip.shape[0] / SAMPLE_RATE, 3),
                avg_logprob=clip_logprob([pair for _, result, _ in results for pair in result]),
                no_speech_prob=clip_no_speech_prob([(window, result) for window, result, _ in results]),
                segments=segments,
                engine=engine,
                alternatives=alternatives,
            )
        )
    return transcripts


def _token_mean(segments: WindowResult, field: str) -> float | None:
    """A segment field averaged with token-count weights; None when no token was decoded."""
    total = sum(tokens for _, tokens in segments)
    return sum(getattr(seg, field) * tokens for seg, tokens in segments) / total if total else None


def clip_logprob(segments: WindowResult) -> float:
    """Mean log-probability per decoded token: segment values weighted by their token counts.

    A plain mean over windows would let a window with one hallucinated word weigh as much as
    one full of speech, and a window without segments has no log-probability to give at all.
    """
    mean = _token_mean(segments, "avg_logprob")
    return NOTHING_HEARD_LOGPROB if mean is None else mean


def clip_no_speech_prob(windows: list[tuple[Window, WindowResult]]) -> float:
    """Window no-speech probabilities weighted by window length; an empty window counts as 1.0.

    No-speech is a property of audio time, so the weight is seconds, not tokens. A window in
    which nothing was transcribed contributed no words: counting it as speech would be a claim
    the transcript does not back.
    """
    weighted, seconds = 0.0, 0.0
    for window, result in windows:
        mean = _token_mean(result, "no_speech_prob")
        weighted += (1.0 if mean is None else mean) * window.duration_s
        seconds += window.duration_s
    return min(max(weighted / seconds, 0.0), 1.0) if seconds else 1.0


# faster-whisper's own fallback schedule and failure thresholds (its ``transcribe`` defaults).
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6

# Maps a time in the decoded samples of one window to clip time.
ClipTime = Callable[[float], float]


def speech_input(window: Window, settings: Settings) -> tuple[np.ndarray, ClipTime]:
    """The samples of ``window`` to decode and the map from their time to clip time.

    With VAD on, only the speech Silero finds is decoded (nothing, for a window without
    speech), each stretch padded by ``whisper_vad_pad_ms``, and times are mapped back across
    the silences it cut out.
    """
    if not settings.whisper_vad:
        return window.samples, lambda t: window.offset_s + t
    from faster_whisper.vad import SpeechTimestampsMap, VadOptions, collect_chunks, get_speech_timestamps

    options = VadOptions(speech_pad_ms=settings.whisper_vad_pad_ms)
    chunks = get_speech_timestamps(window.samples, options, sampling_rate=SAMPLE_RATE)
    if not chunks:
        return window.samples[:0], lambda t: window.offset_s + t
    speech = np.concatenate(collect_chunks(window.samples, chunks, sampling_rate=SAMPLE_RATE)[0])
    speech_map = SpeechTimestampsMap(chunks, SAMPLE_RATE)
    return speech, lambda t: window.offset_s + speech_map.get_original_time(t)


class CTranslate2Engine:
    """faster-whisper over CTranslate2: windows of one context length share one encoder/decoder call."""

    name = "ctranslate2"

    def __init__(self, model_dir: Path, settings: Settings, device: str) -> None:
        from faster_whisper import WhisperModel

        from triage.whisper.alternatives import NBestPipeline
        from triage.whisper.short_context import ShortContextPipeline

        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"No CTranslate2 Whisper weights in {model_dir}.")
        compute_type = "float16" if device == "cuda" else "int8"
        # CTranslate2's default of 4 threads oversubscribes a 2-core machine; the setting's
        # default (0) takes one per core the process may use.
        self.model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads(settings.whisper_threads),
        )
        pipeline = ShortContextPipeline if settings.whisper_short_context else NBestPipeline
        self.pipeline = pipeline(self.model, settings.whisper_alternatives)
        self.settings = settings
        self.options = decoding_options(settings)

    def with_decoding(self, settings: Settings) -> CTranslate2Engine:
        """This engine with other decoding settings, sharing the loaded weights.

        The variant gets a pipeline of its own: faster-whisper's keeps per-decode state
        (``last_speech_timestamp``), and the runner may decode on both at once; CTranslate2's
        model itself serves concurrent requests.
        """
        variant = copy.copy(self)
        variant.settings = settings
        variant.options = decoding_options(settings)
        variant.pipeline = type(self.pipeline)(self.model, settings.whisper_alternatives)
        return variant

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]:
        windows = split_windows(clips)
        per_window: list[WindowResult] = [[] for _ in windows]
        hypotheses: list[list[Hypothesis]] = [[] for _ in windows]
        inputs = [speech_input(w, self.settings) for w in windows]
        heard = [i for i, (samples, _) in enumerate(inputs) if samples.size]
        decoded = self._decode_batched([inputs[i] for i in heard])
        for i, (result, hyps) in zip(heard, decoded, strict=True):
            if self.settings.whisper_temperature_fallback and needs_fallback(result):
                result, hyps = self._decode_with_fallback(*inputs[i]), []
            per_window[i], hypotheses[i] = result, hyps
        return _assemble(windows, per_window, clips, self.settings.whisper_language, self.name, hypotheses)

    def _decode_batched(
        self, inputs: list[tuple[np.ndarray, ClipTime]]
    ) -> list[tuple[WindowResult, list[Hypothesis]]]:
        """Every input decoded greedily or by beam, inputs of one encoder context as one batch.

        With the short context a batch is encoded over its longest input, so a 3-s clip batched
        with a 15-s one would pay for 16 s; grouping by context length keeps each clip's cost to
        its own length. With the full context every input shares the one 30-s shape.
        """
        groups: dict[int, list[int]] = {}
        for i, (samples, _) in enumerate(inputs):
            short = self.settings.whisper_short_context
            key = context_frames(samples.shape[0] / SAMPLE_RATE) if short else WINDOW_FRAMES
            groups.setdefault(key, []).append(i)
        results: list[tuple[WindowResult, list[Hypothesis]]] = [([], []) for _ in inputs]
        for indices in groups.values():
            for i, result in zip(indices, self._decode_group([inputs[i] for i in indices]), strict=True):
                results[i] = result
        return results

    def _decode_group(
        self, inputs: list[tuple[np.ndarray, ClipTime]]
    ) -> list[tuple[WindowResult, list[Hypothesis]]]:
        """One batched decode of ``inputs``: each input's segments and its beam's hypotheses."""
        if not inputs:
            return []
        # One long signal with each input marked as a clip: the batched pipeline then
        # encodes and decodes every window of every request in a single batch.
        starts = np.cumsum([0] + [samples.shape[0] for samples, _ in inputs])
        audio = np.concatenate([samples for samples, _ in inputs]).astype(np.float32)
        spans = [
            {"start": starts[i] / SAMPLE_RATE, "end": starts[i + 1] / SAMPLE_RATE} for i in range(len(inputs))
        ]
        segments, _ = self.pipeline.transcribe(
            audio, clip_timestamps=spans, batch_size=len(inputs), **self.options
        )
        # faster-whisper labels each segment with its input's start frame, computed as below.
        fps = self.model.frames_per_second
        seek_to_input = {
            int(int(s["start"] * SAMPLE_RATE) / SAMPLE_RATE * fps): i for i, s in enumerate(spans)
        }
        results: list[WindowResult] = [[] for _ in inputs]
        for seg in segments:
            i = seek_to_input[seg.seek]
            start, to_clip = spans[i]["start"], inputs[i][1]
            results[i].append(_converted(seg, lambda t, start=start, to_clip=to_clip: to_clip(t - start)))
        hypotheses = [self.pipeline.alternatives.pop(seek, []) for seek in seek_to_input]
        self.pipeline.alternatives.clear()
        return list(zip(results, hypotheses, strict=True))

    def _decode_with_fallback(self, samples: np.ndarray, to_clip: ClipTime) -> WindowResult:
        """faster-whisper's own temperature fallback over one window, as its ``transcribe`` does it.

        The batched pipeline decodes at one temperature only, so windows that failed there go
        through the one-window path, which retries at rising temperatures and keeps the best.
        """
        segments, _ = self.model.transcribe(
            samples,
            temperature=list(FALLBACK_TEMPERATURES),
            compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
            log_prob_threshold=LOGPROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            condition_on_previous_text=False,
            **self.options,
        )
        return [_converted(seg, to_clip) for seg in segments]


def decoding_options(settings: Settings) -> dict[str, object]:
    """faster-whisper options both decoding paths (batched, and one window at a time on
    fallback) share."""
    return {
        "language": settings.whisper_language,
        "beam_size": settings.whisper_beam_size,
        "without_timestamps": False,
        "word_timestamps": settings.whisper_word_timestamps,
        "initial_prompt": settings.whisper_initial_prompt or None,
        "hotwords": settings.whisper_hotwords or None,
        "vad_filter": False,
    }


def needs_fallback(result: WindowResult) -> bool:
    """Whether faster-whisper would re-decode this window: too repetitive, or improbable speech.

    A batched decode gives every segment of a window the window's log-probability and
    no-speech probability; an improbable decode of what is likely silence is not retried.
    """
    if not result:
        return False
    from faster_whisper.transcribe import get_compression_ratio

    first = result[0][0]
    text = " ".join(seg.text for seg, _ in result)
    return decode_failed(get_compression_ratio(text), first.avg_logprob, first.no_speech_prob)


def decode_failed(compression_ratio: float, avg_logprob: float, no_speech_prob: float) -> bool:
    """The fallback rule both libraries use in ``transcribe``: text too repetitive, or too
    improbable unless the window is likely silence."""
    improbable = avg_logprob < LOGPROB_THRESHOLD
    if improbable and no_speech_prob > NO_SPEECH_THRESHOLD:
        return False
    return improbable or compression_ratio > COMPRESSION_RATIO_THRESHOLD


def _converted(seg, to_clip: ClipTime) -> tuple[Segment, int]:
    """A faster-whisper segment in clip time, with its decoded token count."""
    words = [
        Word(
            word=w.word,
            start=round(to_clip(w.start), 3),
            end=round(to_clip(w.end), 3),
            probability=float(min(max(w.probability, 0.0), 1.0)),
        )
        for w in seg.words or []
    ]
    segment = Segment(
        id=0,
        start=round(to_clip(seg.start), 3),
        end=round(to_clip(seg.end), 3),
        text=seg.text.strip(),
        avg_logprob=float(seg.avg_logprob),
        no_speech_prob=float(seg.no_speech_prob),
        words=words,
    )
    return segment, len(seg.tokens)


class OpenAIWhisperEngine:
    """openai-whisper (PyTorch): windows decoded with ``whisper.decode``, as one batch when greedy."""

    name = "openai"

    def __init__(self, checkpoint: Path, settings: Settings, device: str) -> None:
        import whisper

        from triage.whisper.checkpoint import load_converted_model

        if not checkpoint.is_file():
            raise FileNotFoundError(f"No openai-whisper checkpoint at {checkpoint}.")
        self.model = load_converted_model(checkpoint, device=device)
        # openai-whisper installs its key-value cache hooks on the model's modules for each
        # decode, so two decodes on one model, from this engine or a variant, must not overlap.
        self._decoding = threading.Lock()
        self.device = device
        self.settings = settings
        self.tokenizer = whisper.tokenizer.get_tokenizer(
            self.model.is_multilingual,
            num_languages=self.model.num_languages,
            language=settings.whisper_language,
            task="transcribe",
        )

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]:
        with self._decoding:
            return self._transcribe_batch(clips)

    def _transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]:
        import torch
        import whisper
        from whisper.audio import N_FRAMES
        from whisper.timing import add_word_timestamps

        windows = split_windows(clips)
        inputs = [speech_input(w, self.settings) for w in windows]
        heard = [i for i, (samples, _) in enumerate(inputs) if samples.size]
        per_window: list[WindowResult] = [[] for _ in windows]
        if not heard:
            return _assemble(windows, per_window, clips, self.settings.whisper_language, self.name)
        n_mels = self.model.dims.n_mels
        mels = [
            whisper.log_mel_spectrogram(torch.from_numpy(inputs[i][0]), n_mels=n_mels, padding=0)
            for i in heard
        ]
        batch = torch.stack([whisper.pad_or_trim(m, N_FRAMES) for m in mels]).to(self.device)
        beam = self.settings.whisper_beam_size
        options = whisper.DecodingOptions(
            language=self.settings.whisper_language,
            task="transcribe",
            without_timestamps=False,
            beam_size=beam if beam > 1 else None,
            prompt=self._prompt(),
            fp16=self.device == "cuda",
        )
        with torch.inference_mode():
            if options.beam_size:
                # openai-whisper's beam search does not repeat the audio features per beam, so it
                # fails on a batch of more than one window (openai/whisper#2197): one at a time.
                results = [whisper.decode(self.model, mel[None], options)[0] for mel in batch]
            else:
                results = whisper.decode(self.model, batch, options)
            if self.settings.whisper_temperature_fallback:
                results = [self._retry(mel, options, r) for mel, r in zip(batch, results, strict=True)]
        for i, mel, padded, result in zip(heard, mels, batch, results, strict=True):
            raw = self._split_segments(result.tokens, 0.0)
            if self.settings.whisper_word_timestamps and raw:
                add_word_timestamps(
                    segments=raw,
                    model=self.model,
                    tokenizer=self.tokenizer,
                    mel=padded,
                    num_frames=mel.shape[-1],
                    last_speech_timestamp=0.0,
                )
            to_clip = inputs[i][1]
            per_window[i] = [
                (
                    Segment(
                        id=0,
                        start=round(to_clip(s["start"]), 3),
                        end=round(to_clip(s["end"]), 3),
                        text=s["text"].strip(),
                        avg_logprob=float(result.avg_logprob),
                        no_speech_prob=float(result.no_speech_prob),
                        words=[
                            Word(
                                word=w["word"],
                                start=round(to_clip(w["start"]), 3),
                                end=round(to_clip(w["end"]), 3),
                                probability=float(min(max(w["probability"], 0.0), 1.0)),
                            )
                            for w in s.get("words", [])
                        ],
                    ),
                    len(s["tokens"]),
                )
                for s in raw
            ]
        return _assemble(windows, per_window, clips, self.settings.whisper_language, self.name)

    def with_decoding(self, settings: Settings) -> OpenAIWhisperEngine:
        """This engine with other decoding settings, sharing the loaded model and its lock."""
        variant = copy.copy(self)
        variant.settings = settings
        return variant

    def _retry(self, mel, options, result):
        """openai-whisper's own fallback (its ``transcribe``) over one window: while a decode
        fails, decode again by sampling (best of 5) at the next temperature; the last is kept."""
        import whisper

        for temperature in FALLBACK_TEMPERATURES[1:]:
            if not decode_failed(result.compression_ratio, result.avg_logprob, result.no_speech_prob):
                break
            sampled = replace(options, temperature=temperature, beam_size=None, best_of=5)
            result = whisper.decode(self.model, mel[None], sampled)[0]
        return result

    def _prompt(self) -> str | None:
        """Hotwords then the initial prompt, the order faster-whisper puts them before a window."""
        parts = (self.settings.whisper_hotwords, self.settings.whisper_initial_prompt)
        return " ".join(p for p in parts if p) or None

    def _split_segments(self, tokens: list[int], offset_s: float) -> list[dict]:
        """Cut decoded tokens at timestamp tokens into openai-style segment dicts (from ``offset_s``)."""
        begin = self.tokenizer.timestamp_begin
        precision = 0.02  # seconds per timestamp token
        segments: list[dict] = []
        start: float | None = None
        text_tokens: list[int] = []
        for token in tokens:
            if token >= begin:
                time = offset_s + (token - begin) * precision
                if start is None:
                    start = time
                elif text_tokens:
                    segments.append(self._segment(start, time, text_tokens, offset_s))
                    text_tokens = []
                    start = None
                else:
                    start = time
            else:
                text_tokens.append(token)
        if text_tokens:  # no closing timestamp: the segment runs to the end of its text
            segments.append(self._segment(start or offset_s, None, text_tokens, offset_s))
        return segments

    def _segment(self, start: float, end: float | None, tokens: list[int], offset_s: float) -> dict:
        return {
            "seek": int(offset_s * 100),
            "start": start,
            "end": end if end is not None else start,
            "tokens": tokens,
            "text": self.tokenizer.decode(tokens),
        }
