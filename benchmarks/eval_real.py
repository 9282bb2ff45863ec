"""The honest evaluation: every figure on material no model trained or was tuned on.

Three sets, each through the same code path as ``POST /analyze`` (``triage.analyze``, with
the models of the store loaded in this process instead of behind HTTP):

- **corpus test speakers** (``harness.corpus``, split ``test``): everyday read speech, all
  of it normal, so every emergency verdict is a false alarm. Whisper runs live with the
  served settings (``--cached`` takes ``training/data/corpus/whisper.jsonl`` instead:
  faster, and made with the served decoding settings, which each record names); the sound model hears the clip
  itself. Also Whisper's CER, the CER after correction, and how many clips the corrector
  made better and worse, with numbers and Latin letters as written and read aloud.
- **held-out sentences** (``benchmarks/data/heldout_sentences.tsv``): hand-written
  emergencies of every category (and hard-negative normal sentences), text only, never read
  by any training script.
- **labelled clips** (``../shared/audio/speech``): the 14 development clips, Whisper live.

Each set is scored for the text model alone, the sound model alone, the fusion, and the
trivial baselines (``harness.baselines``) on the same text.

    BENTOML_HOME=~/bentoml python -m benchmarks.eval_real
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from tqdm import tqdm

from harness.baselines import NORMAL, baseline_predictions
from harness.corpus import corpus_clips
from harness.shared_audio import SPEECH_DIR, read_manifest
from training.corpus_transcripts import load_transcripts
from triage.analyze import Analysis, analyze_clip
from triage.audio import decode_audio
from triage.audio_classifier import MODEL_NAME as AUDIO_MODEL
from triage.audio_classifier.model import AudioClassifierModel
from triage.config import get_settings
from triage.corrector.pipeline import CorrectionPipeline
from triage.fusion import MODEL_NAME as FUSION_MODEL
from triage.fusion.model import LogisticFusion
from triage.metrics import cer
from triage.model_store import get_model
from triage.text_classifier.model import TextClassifierModel
from triage.text_classifier.schemas import TextPrediction
from triage.whisper.engines import load_engine
from triage.whisper.schemas import Transcript

HELDOUT_SENTENCES = Path(__file__).resolve().parent / "data" / "heldout_sentences.tsv"


class LocalModel:
    """A model in this process posing as a ``bentoml.depends`` handle (``.to_async.<method>``)."""

    def __init__(self, **methods: Callable[[list], list]) -> None:
        async def wrap(fn: Callable[[list], list], items: list) -> list:
            return fn(items)

        self.to_async = SimpleNamespace(
            **{name: (lambda items, fn=fn: wrap(fn, items)) for name, fn in methods.items()}
        )


@dataclass
class Models:
    """The served models of one store, loaded once."""

    whisper: Any = field(init=False)
    corrector: CorrectionPipeline = field(init=False)
    text: TextClassifierModel = field(init=False)
    audio: AudioClassifierModel = field(init=False)
    fusion: LogisticFusion = field(init=False)

    def __post_init__(self) -> None:
        settings = get_settings()
        self.corrector = CorrectionPipeline.from_store()
        self.text = TextClassifierModel.from_store()
        self.audio = AudioClassifierModel.from_store(get_model(AUDIO_MODEL))
        self.fusion = LogisticFusion.load(Path(get_model(FUSION_MODEL).path))
        self.whisper = load_engine(Path(get_model(settings.whisper_model).path), settings)

    def analyze(self, clip: np.ndarray, transcript: Transcript | None = None) -> Analysis:
        """``/analyze`` on one clip; ``transcript`` stands in for Whisper when it is cached."""
        speech = (
            LocalModel(transcribe=lambda clips: [transcript])
            if transcript is not None
            else LocalModel(transcribe=self.whisper.transcribe_batch)
        )
        return asyncio.run(
            analyze_clip(
                clip,
                None,
                whisper=speech,
                audio_classifier=LocalModel(classify=self.audio.predict),
                corrector=LocalModel(correct=self.corrector.correct),
                text_classifier=LocalModel(classify=self.text.classify),
                fusion=self.fusion,
            )
        )


@dataclass
class Scores:
    """Categories predicted for one set by every method, beside the truth."""

    truth: list[str]
    predicted: dict[str, list[str]] = field(default_factory=dict)

    def row(self, method: str) -> dict[str, Any]:
        """Each rate with its count and 95 % interval: on 217 clips one clip moves a rate by 0.5 %."""
        pairs = list(zip(self.truth, self.predicted[method], strict=True))
        normal = [p for t, p in pairs if t == NORMAL]
        emergency = [(t, p) for t, p in pairs if t != NORMAL]
        row: dict[str, Any] = {"n": len(pairs)}
        for name, hits in (
            ("false_alarm_rate", [p != NORMAL for p in normal]),
            ("emergency_recall", [p != NORMAL for _, p in emergency]),
            ("category_accuracy", [p == t for t, p in emergency]),
        ):
            row[name] = round(float(np.mean(hits)), 4) if hits else None
            row[f"{name}_count"] = [int(sum(hits)), len(hits)]
            row[f"{name}_interval"] = wilson_interval(int(sum(hits)), len(hits)) if hits else None
        return row

    def by_category(self, method: str) -> dict[str, list[int]]:
        """For each true emergency category: [detected with the right category, detected, total]."""
        counts: dict[str, list[int]] = {}
        for truth, predicted in zip(self.truth, self.predicted[method], strict=True):
            if truth != NORMAL:
                right, detected, total = counts.get(truth, [0, 0, 0])
                counts[truth] = [right + (predicted == truth), detected + (predicted != NORMAL), total + 1]
        return dict(sorted(counts.items()))


def wilson_interval(hits: int, total: int, z: float = 1.96) -> list[float]:
    """The Wilson score interval (95 % by default) of a rate of ``hits`` in ``total``.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 of n.
    """
    rate, z2 = hits / total, z * z
    centre = (rate + z2 / (2 * total)) / (1 + z2 / total)
    half = z * np.sqrt(rate * (1 - rate) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return [round(float(max(0.0, centre - half)), 4), round(float(min(1.0, centre + half)), 4)]


def text_category(text: TextPrediction | None) -> str:
    """The text model's verdict: its most probable emergency category, or normal."""
    if text is None or not text.is_emergency:
        return NORMAL
    return max((k for k in text.probabilities if k != NORMAL), key=text.probabilities.__getitem__)


def audio_category(analysis: Analysis) -> str:
    """The sound model knows no categories: an emergency verdict names its sound class."""
    return analysis.audio.label if analysis.audio.distress_probability >= 0.5 else NORMAL


def fusion_category(analysis: Analysis) -> str:
    return analysis.decision.category if analysis.decision.is_emergency else NORMAL


def score_analyses(truth: list[str], analyses: list[Analysis]) -> Scores:
    scores = Scores(truth)
    scores.predicted["text model"] = [text_category(a.text) for a in analyses]
    scores.predicted["sound model"] = [audio_category(a) for a in analyses]
    scores.predicted["fusion"] = [fusion_category(a) for a in analyses]
    scores.predicted.update(baseline_predictions([a.corrected_transcript for a in analyses]))
    return scores


def correction_figures(texts: list[tuple[str, str, str]], *, spoken: bool) -> dict[str, float | int]:
    """Whisper's CER, CER after correction, clips better and worse; texts: (reference, heard, corrected)."""
    before = np.array([cer(ref, heard, spoken=spoken) for ref, heard, _ in texts])
    after = np.array([cer(ref, corrected, spoken=spoken) for ref, _, corrected in texts])
    return {
        "whisper_cer": round(float(before.mean()), 4),
        "corrected_cer": round(float(after.mean()), 4),
        "clips_better": int(np.sum(after < before)),
        "clips_worse": int(np.sum(after > before)),
    }


def corpus_test(models: Models, limit: int | None, cached: bool) -> tuple[Scores, dict[str, Any]]:
    """Corpus test speakers through ``/analyze``'s path, plus the corrector's effect on them.

    CER is given twice: counting digits and Latin letters as written, and with them read aloud
    (``spoken``), since the corpus spells every number in Hangul (see ``triage.spoken_forms``).
    """
    transcripts = {r.file: r.transcript for r in load_transcripts("test")} if cached else {}
    clips = corpus_clips("test")[:limit]
    analyses, texts, changed, segments = [], [], 0, 0
    for clip in tqdm(clips, desc="corpus test speakers", unit="clip"):
        audio = decode_audio(clip.path.read_bytes(), "audio/flac")
        analysis = models.analyze(audio, transcripts.get(clip.file))
        analyses.append(analysis)
        texts.append((clip.transcript, analysis.transcript, analysis.corrected_transcript))
        segments += len(analysis.corrections)
        changed += sum(c.corrected != c.original for c in analysis.corrections)
    correction = {
        "clips": len(clips),
        "segments": segments,
        "segments_changed": changed,
        "as_written": correction_figures(texts, spoken=False),
        "read_aloud": correction_figures(texts, spoken=True),
    }
    return score_analyses([NORMAL] * len(clips), analyses), correction


def heldout_sentences(models: Models) -> Scores:
    """Hand-written held-out sentences, text model alone (no audio, so no fusion)."""
    with HELDOUT_SENTENCES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    texts = [r["text"] for r in rows]
    scores = Scores([r["category"] for r in rows])
    predictions = models.text.classify(texts)
    scores.predicted["text model"] = [text_category(p) for p in predictions]
    scores.predicted.update(baseline_predictions(texts))
    return scores


def labelled_clips(models: Models) -> Scores:
    """The 14 labelled development clips, Whisper live."""
    rows = read_manifest(SPEECH_DIR)
    analyses = [
        models.analyze(decode_audio((SPEECH_DIR / r["file"]).read_bytes(), "audio/wav"))
        for r in tqdm(rows, desc="labelled clips", unit="clip")
    ]
    truth = [r["category"] if r["label"] == "emergency" else NORMAL for r in rows]
    return score_analyses(truth, analyses)


def rate_with_interval(row: dict[str, Any], column: str) -> str:
    """``0.023 [0.010, 0.053]``: a rate and its 95 % interval, or ``-``."""
    if row[column] is None:
        return "-"
    low, high = row[f"{column}_interval"]
    return f"{row[column]:.3f} [{low:.3f}, {high:.3f}]"


def print_table(results: dict[str, Scores]) -> list[dict]:
    rows = []
    columns = ("false_alarm_rate", "emergency_recall", "category_accuracy")
    print(f"\n{'set':<22} {'method':<17} {'n':>4}" + "".join(f" {c.replace('_', ' '):>21}" for c in columns))
    for name, scores in results.items():
        for method in scores.predicted:
            row = {"set": name, "method": method, **scores.row(method)}
            rows.append(row)
            cells = "".join(f" {rate_with_interval(row, c):>21}" for c in columns)
            print(f"{name:<22} {method:<17} {row['n']:>4}{cells}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="corpus test clips to use (default: all)")
    parser.add_argument("--skip-clips", action="store_true", help="leave out the 14 labelled clips (Whisper)")
    parser.add_argument("--cached", action="store_true", help="corpus: cached transcripts, not live")
    parser.add_argument("--json", type=Path, help="also write the table and corrector figures here")
    args = parser.parse_args(argv)
    models = Models()
    results: dict[str, Scores] = {}
    corpus_scores, correction = corpus_test(models, args.limit, args.cached)
    results["corpus test speakers"] = corpus_scores
    results["held-out sentences"] = heldout_sentences(models)
    if not args.skip_clips:
        results["labelled clips"] = labelled_clips(models)
    rows = print_table(results)
    held_out = results["held-out sentences"].by_category("text model")
    print(
        "\nheld-out sentences, text model, by true category (right category / detected / total): "
        + ", ".join(f"{c} {r}/{d}/{n}" for c, (r, d, n) in held_out.items())
    )
    print("corrector on corpus test speakers:", json.dumps(correction))
    if args.json:
        args.json.write_text(
            json.dumps({"table": rows, "held_out_by_category": held_out, "correction": correction}, indent=2),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
