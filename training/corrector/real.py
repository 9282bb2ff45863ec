"""Real Whisper output on the corpus: (Whisper transcript, reference) cases for the corrector.

Synthetic noise only imitates the recogniser; the corpus transcripts
(``training.corpus_transcripts``) are its real errors. The corrector uses them by split,
never mixing: **dev** speakers' clips pick the thresholds (:mod:`training.corrector.tune`),
**test** speakers are left to ``benchmarks.eval_real``, and the **train** speakers' clips
are a look at the thresholds that the tuning never had. Each clip is corrected the way
``/analyze`` corrects it: its Whisper segments with their word probabilities and its
windows' n-best (``triage.analyze.correction_items``), joined back into one text.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.corpus import Split
from training.corpus_transcripts import load_transcripts
from triage.analyze import correction_items
from triage.corrector.pipeline import CorrectionPipeline
from triage.corrector.schemas import CorrectionItem
from triage.metrics import cer


@dataclass(frozen=True)
class RealCase:
    """One corpus clip: Whisper's segments as corrector input, their joined text, the reference."""

    file: str
    reference: str
    items: list[CorrectionItem]

    @property
    def whisper(self) -> str:
        return " ".join(it.segment.text.strip() for it in self.items)


def real_cases(split: Split) -> list[RealCase]:
    """The clips of one split that Whisper heard something in, in file order."""
    out = []
    for r in load_transcripts(split):
        items = correction_items(r.transcript)
        if items:
            out.append(RealCase(r.file, r.reference, items))
    return out


@dataclass(frozen=True)
class RealScore:
    """What the corrector did to a set of real clips, clip by clip (CER is ``triage.metrics.cer``)."""

    before: list[float]
    after: list[float]
    changed: list[bool]
    corrected: list[str]

    @property
    def better(self) -> int:
        return sum(a < b for a, b in zip(self.after, self.before, strict=True))

    @property
    def worse(self) -> int:
        return sum(a > b for a, b in zip(self.after, self.before, strict=True))

    def summary(self) -> dict[str, float | int]:
        n = max(1, len(self.before))
        return {
            "clips": len(self.before),
            "cer_before": round(sum(self.before) / n, 4),
            "cer_after": round(sum(self.after) / n, 4),
            "clips_changed": sum(self.changed),
            "clips_better": self.better,
            "clips_worse": self.worse,
        }


def correct_cases(pipeline: CorrectionPipeline, cases: list[RealCase], batch: int = 32) -> list[str]:
    """Each clip's corrected text: its segments corrected in batches and joined as ``/analyze`` does."""
    items = [it for c in cases for it in c.items]
    outs = []
    for k in range(0, len(items), batch):
        outs += pipeline.correct(items[k : k + batch])
    texts, k = [], 0
    for c in cases:
        segs = outs[k : k + len(c.items)]
        k += len(c.items)
        texts.append(" ".join(o.corrected.strip() for o in segs if o.corrected.strip()))
    return texts


def score_cases(pipeline: CorrectionPipeline, cases: list[RealCase]) -> RealScore:
    """What the corrector does to ``cases``, with numbers and Latin words read aloud
    (``cer(..., spoken=True)``): the corpus spells them in Hangul, and a corrector picking
    Whisper's "세 명" over its "3명" for that would learn the corpus's convention, not Korean."""
    corrected = correct_cases(pipeline, cases)
    return RealScore(
        before=[cer(c.reference, c.whisper, spoken=True) for c in cases],
        after=[cer(c.reference, t, spoken=True) for c, t in zip(cases, corrected, strict=True)],
        changed=[t != c.whisper for c, t in zip(cases, corrected, strict=True)],
        corrected=corrected,
    )
