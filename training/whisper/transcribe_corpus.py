"""Transcribe the real read-speech corpus with the served Whisper engine, once, into a data file.

Whisper's own output on real Korean speech is training material for two models: the text
classifier learns everyday speech *as Whisper writes it* (errors included), and the
corrector learns, and is tuned on, real (Whisper output, reference) pairs. Transcribing
the 904 clips takes about 8 minutes on 2 CPU cores with the served settings (beam 5, VAD,
short context), too long for every fresh ``make serve`` and dependent on the thread
schedule, so the result is kept in ``training/data/corpus/whisper.jsonl``: one line per
clip with the speaker's split, the decoding settings and the full transcript (segments,
word probabilities). Run again after changing the Whisper model or its decoding settings,
then retrain the corrector and fusion (the text classifier learns from the greedy decode
kept in ``whisper-greedy.jsonl``, which did better on dev: README, "Accuracy").

    BENTOML_HOME=~/bentoml python -m training.whisper.transcribe_corpus
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from harness.corpus import corpus_clips
from training.corpus_transcripts import TRANSCRIPTS
from triage.audio import decode_audio
from triage.config import get_settings
from triage.model_store import get_model
from triage.whisper.engines import load_engine

OUTPUT = TRANSCRIPTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--batch", type=int, default=1, help="clips per engine call")
    args = parser.parse_args(argv)
    settings = get_settings()
    model = get_model(settings.whisper_model)
    engine = load_engine(Path(model.path), settings)
    clips = corpus_clips()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as out:
        for start in tqdm(range(0, len(clips), args.batch), desc="transcribe corpus", unit="batch"):
            batch = clips[start : start + args.batch]
            audio = [decode_audio(c.path.read_bytes(), "audio/flac") for c in batch]
            for clip, transcript in zip(batch, engine.transcribe_batch(audio), strict=True):
                record = {
                    "file": clip.file,
                    "speaker": clip.speaker,
                    "split": clip.split,
                    "subset": clip.subset,
                    "whisper": {
                        "model": str(model.tag),
                        "beam_size": settings.whisper_beam_size,
                        "vad": settings.whisper_vad,
                        "vad_pad_ms": settings.whisper_vad_pad_ms,
                        "temperature_fallback": settings.whisper_temperature_fallback,
                        "short_context": settings.whisper_short_context,
                    },
                    "transcript": transcript.model_dump(),
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(clips)} transcripts to {args.output}")


if __name__ == "__main__":
    main()
