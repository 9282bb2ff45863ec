"""Two Whisper inference engines behind one batch interface.

``ctranslate2`` (faster-whisper) runs int8 on CPU and float16 on GPU and is the fast
default; ``openai`` (openai-whisper, PyTorch) runs the same weights converted into an
openai checkpoint, as a reference and for users who want the original implementation.
Both take a batch of 16 kHz clips, decode all their 30-second windows as one batch, and
return :class:`~triage.speech.schemas.Transcript` objects with segments, timestamps,
log-probabilities, no-speech probabilities and per-word confidences.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from triage.config import SAMPLE_RATE, Settings
from triage.speech.chunks import Window, split_windows
from triage.speech.schemas import Segment, Transcript, Word


class SpeechEngine(Protocol):
    """What the runner needs of an engine: a name and batch transcription."""

    name: str

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]: ...


def pick_device() -> str:
    """``cuda`` when a GPU is visible to PyTorch, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_engine(model_dir: Path, settings: Settings, device: str | None = None) -> SpeechEngine:
    """The engine named by ``settings.whisper_engine`` over the weights stored in ``model_dir``."""
    device = device or pick_device()
    if settings.whisper_engine == "ctranslate2":
        return CTranslate2Engine(model_dir / "ct2", settings, device)
    if settings.whisper_engine == "openai":
        return OpenAIWhisperEngine(model_dir / "openai" / "model.pt", settings, device)
    raise ValueError(f"Unknown whisper engine {settings.whisper_engine!r}; use 'ctranslate2' or 'openai'.")


def _assemble(
    windows: list[Window],
    per_window: list[tuple[list[Segment], float, float]],
    clips: list[np.ndarray],
    language: str,
    engine: str,
) -> list[Transcript]:
    """Stitch per-window segments (already in clip time) back into one transcript per clip."""
    grouped: list[list[tuple[list[Segment], float, float]]] = [[] for _ in clips]
    for window, result in zip(windows, per_window, strict=True):
        grouped[window.clip].append(result)
    transcripts = []
    for clip, results in zip(clips, grouped, strict=True):
        segments = [seg for segs, _, _ in results for seg in segs]
        for number, seg in enumerate(segments):
            seg.id = number
        text = " ".join(seg.text.strip() for seg in segments if seg.text.strip())
        transcripts.append(
            Transcript(
                text=text,
                language=language,
                duration_s=round(clip.shape[0] / SAMPLE_RATE, 3),
                avg_logprob=float(np.mean([lp for _, lp, _ in results])),
                no_speech_prob=float(np.mean([nsp for _, _, nsp in results])),
                segments=segments,
                engine=engine,
            )
        )
    return transcripts


class CTranslate2Engine:
    """faster-whisper over CTranslate2: all windows of a batch go through one encoder/decoder call."""

    name = "ctranslate2"

    def __init__(self, model_dir: Path, settings: Settings, device: str) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"No CTranslate2 Whisper weights in {model_dir}.")
        compute_type = "float16" if device == "cuda" else "int8"
        # One intra-op thread per core the process may use: CTranslate2's default of 4
        # oversubscribes a 2-core machine.
        threads = len(os.sched_getaffinity(0))
        self.model = WhisperModel(
            str(model_dir), device=device, compute_type=compute_type, cpu_threads=threads
        )
        self.pipeline = BatchedInferencePipeline(self.model)
        self.settings = settings

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]:
        windows = split_windows(clips)
        # One long signal with each window marked as a clip: the batched pipeline then
        # encodes and decodes every window of every request in a single batch.
        starts = np.cumsum([0] + [w.samples.shape[0] for w in windows])
        audio = np.concatenate([w.samples for w in windows]).astype(np.float32)
        spans = [
            {"start": starts[i] / SAMPLE_RATE, "end": starts[i + 1] / SAMPLE_RATE}
            for i in range(len(windows))
        ]
        segments, _ = self.pipeline.transcribe(
            audio,
            language=self.settings.whisper_language,
            clip_timestamps=spans,
            batch_size=len(windows),
            beam_size=self.settings.whisper_beam_size,
            without_timestamps=False,
            word_timestamps=self.settings.whisper_word_timestamps,
            vad_filter=False,
        )
        # faster-whisper labels each segment with its window's start frame, computed as below.
        fps = self.model.frames_per_second
        seek_to_window = {
            int(int(s["start"] * SAMPLE_RATE) / SAMPLE_RATE * fps): i for i, s in enumerate(spans)
        }
        per_window: list[tuple[list[Segment], float, float]] = [([], 0.0, 0.0) for _ in windows]
        for seg in segments:
            i = seek_to_window[seg.seek]
            shift = windows[i].offset_s - spans[i]["start"]  # concatenated time -> clip time
            words = [
                Word(
                    word=w.word,
                    start=round(w.start + shift, 3),
                    end=round(w.end + shift, 3),
                    probability=float(min(max(w.probability, 0.0), 1.0)),
                )
                for w in seg.words or []
            ]
            per_window[i][0].append(
                Segment(
                    id=0,
                    start=round(seg.start + shift, 3),
                    end=round(seg.end + shift, 3),
                    text=seg.text.strip(),
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                    words=words,
                )
            )
            per_window[i] = (per_window[i][0], float(seg.avg_logprob), float(seg.no_speech_prob))
        return _assemble(windows, per_window, clips, self.settings.whisper_language, self.name)


class OpenAIWhisperEngine:
    """openai-whisper (PyTorch): windows decoded as one batch with ``whisper.decode``."""

    name = "openai"

    def __init__(self, checkpoint: Path, settings: Settings, device: str) -> None:
        import whisper

        from triage.speech.convert import load_converted_model

        if not checkpoint.is_file():
            raise FileNotFoundError(f"No openai-whisper checkpoint at {checkpoint}.")
        self.model = load_converted_model(checkpoint, device=device)
        self.device = device
        self.settings = settings
        self.tokenizer = whisper.tokenizer.get_tokenizer(
            self.model.is_multilingual,
            num_languages=self.model.num_languages,
            language=settings.whisper_language,
            task="transcribe",
        )

    def transcribe_batch(self, clips: list[np.ndarray]) -> list[Transcript]:
        import torch
        import whisper
        from whisper.audio import N_FRAMES
        from whisper.timing import add_word_timestamps

        windows = split_windows(clips)
        n_mels = self.model.dims.n_mels
        mels = [
            whisper.log_mel_spectrogram(torch.from_numpy(w.samples), n_mels=n_mels, padding=0)
            for w in windows
        ]
        batch = torch.stack([whisper.pad_or_trim(m, N_FRAMES) for m in mels]).to(self.device)
        beam = self.settings.whisper_beam_size
        options = whisper.DecodingOptions(
            language=self.settings.whisper_language,
            task="transcribe",
            without_timestamps=False,
            beam_size=beam if beam > 1 else None,
            fp16=self.device == "cuda",
        )
        with torch.inference_mode():
            results = whisper.decode(self.model, batch, options)
        per_window = []
        for window, mel, padded, result in zip(windows, mels, batch, results, strict=True):
            raw = self._split_segments(result.tokens, window.offset_s)
            if self.settings.whisper_word_timestamps and raw:
                add_word_timestamps(
                    segments=raw,
                    model=self.model,
                    tokenizer=self.tokenizer,
                    mel=padded,
                    num_frames=mel.shape[-1],
                    last_speech_timestamp=window.offset_s,
                )
            segments = [
                Segment(
                    id=0,
                    start=round(s["start"], 3),
                    end=round(s["end"], 3),
                    text=s["text"].strip(),
                    avg_logprob=float(result.avg_logprob),
                    no_speech_prob=float(result.no_speech_prob),
                    words=[
                        Word(
                            word=w["word"],
                            start=round(w["start"], 3),
                            end=round(w["end"], 3),
                            probability=float(min(max(w["probability"], 0.0), 1.0)),
                        )
                        for w in s.get("words", [])
                    ],
                )
                for s in raw
            ]
            per_window.append((segments, float(result.avg_logprob), float(result.no_speech_prob)))
        return _assemble(windows, per_window, clips, self.settings.whisper_language, self.name)

    def _split_segments(self, tokens: list[int], offset_s: float) -> list[dict]:
        """Cut decoded tokens at timestamp tokens into openai-style segment dicts (clip time)."""
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
