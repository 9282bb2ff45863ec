"""Pick the corrector's thresholds on real Whisper output of the corpus **dev** speakers.

A threshold only means something beside the scorer that produced the gains, so tuning
runs after training, on the trained model, and the picked :class:`CorrectorConfig` is what
training stores with it. The rule is the issue's: on the dev clips no clip may get worse
(CER, ``triage.metrics.cer``); among the configs that keep that promise, the one that makes
the most clips better wins (then the lower CER, then the fewer changed clips). The search
moves one threshold at a time (coordinate descent) from two starts: a config that changes
nothing (always admissible) and the defaults; with no admissible improvement the corrector
stays off for lexicon-only guesses and rewrites. Whisper's own n-best is gated here
(``nbest_tau``, a threshold on the logit of the weights fitted on the train speakers,
:mod:`training.corrector.nbest_fit`): the corpus cache holds the beam's hypotheses of every clip.
Thresholds that only fire on a client's outside evidence (hotwords, domain terms, another
recogniser's n-best: ``request_tau``) are not: the corpus has none.

Model calls, analyses and lexicon searches are cached across configs: most candidate
sentences and rewrites are the same from one config to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from training.corrector.real import RealCase, RealScore, score_cases
from triage.corrector.config import CorrectorConfig
from triage.corrector.lexicon import Lexicon, Neighbour
from triage.corrector.pipeline import CorrectionPipeline
from triage.corrector.rewrite import Seq2Seq

SEARCH: list[list[dict[str, Any]]] = [
    [{"asr_nbest_enabled": False}]
    + [
        {"asr_nbest_enabled": True, "nbest_tau": v}
        for v in (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
    ],
    [{"lexicon_enabled": False}]
    + [{"lexicon_enabled": True, "rerank_tau": v} for v in (0.3, 0.5, 0.7, 0.9, 1.2, 1.6, 2.0, 3.0)],
    [{"rewrite_enabled": False}]
    + [{"rewrite_enabled": True, "rewrite_tau": v} for v in (0.1, 0.3, 0.6, 1.0, 2.0)],
    [{"rewrite_max_cer": v} for v in (0.05, 0.1, 0.15, 0.25)],
    [{"guard_max_cer": v} for v in (0.05, 0.1, 0.2, 0.3, 0.4)],
    [{"max_phonetic_distance": v} for v in (0.2, 0.24, 0.28, 0.32)],
    [{"max_change_distance": v} for v in (0.3, 0.4, 0.5, 0.7)],
    [{"generic_word_penalty": v} for v in (2.0, 4.0, 8.0)],
    [{"weight_distance": v} for v in (0.5, 1.0, 2.0)],
    [{"word_confidence_threshold": v} for v in (0.3, 0.45, 0.6, 0.75)],
]
"""The settings tried, one group per threshold (coupled fields move together), in search order."""

CLOSED: dict[str, Any] = {"lexicon_enabled": False, "rewrite_enabled": False, "asr_nbest_enabled": False}
"""Where the search starts: no lexicon candidate or Whisper alternative wins, nothing is rewritten."""


class CachedKiwi:
    """kiwipiepy with its analyses remembered (spans, scores and the guard analyse the same texts)."""

    def __init__(self, kiwi) -> None:
        self.kiwi = kiwi
        self._analyses: dict[str, Any] = {}

    def analyze(self, text: str | list[str]):
        texts = [text] if isinstance(text, str) else list(text)
        todo = [t for t in dict.fromkeys(texts) if t not in self._analyses]
        if todo:
            self._analyses.update(zip(todo, self.kiwi.analyze(todo), strict=True))
        out = [self._analyses[t] for t in texts]
        return out[0] if isinstance(text, str) else out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kiwi, name)


class CachedSeq2Seq(Seq2Seq):
    """The same model, remembering every score and generation (the configs share most of them)."""

    def __init__(self, inner: Seq2Seq) -> None:
        super().__init__(inner.model, inner.tokenizer, inner.max_length)
        self._scores: dict[tuple[str, str], float] = {}
        self._generated: dict[tuple[str, int], str] = {}

    def score(self, sources: list[str], targets: list[str], batch_size: int = 64) -> list[float]:
        todo = sorted({(s, t) for s, t in zip(sources, targets, strict=True)} - self._scores.keys())
        if todo:
            got = super().score([s for s, _ in todo], [t for _, t in todo], batch_size)
            self._scores.update(zip(todo, got, strict=True))
        return [self._scores[(s, t)] for s, t in zip(sources, targets, strict=True)]

    def generate(self, sources: list[str], num_beams: int = 1, batch_size: int = 64) -> list[str]:
        todo = sorted({s for s in sources if (s, num_beams) not in self._generated})
        if todo:
            got = super().generate(todo, num_beams, batch_size)
            self._generated.update({(s, num_beams): g for s, g in zip(todo, got, strict=True)})
        return [self._generated[(s, num_beams)] for s in sources]


class CachedLexicon(Lexicon):
    """The same words, remembering every neighbour search (spans repeat across configs)."""

    def __init__(self, inner: Lexicon) -> None:
        self.__dict__.update(inner.__dict__)
        self._found: dict[tuple, list[Neighbour]] = {}

    def neighbours(self, span: str, k: int, max_distance: float, prefilter_cutoff: float) -> list[Neighbour]:
        key = (span, k, max_distance, prefilter_cutoff)
        if key not in self._found:
            self._found[key] = super().neighbours(span, k, max_distance, prefilter_cutoff)
        return self._found[key]


@dataclass(frozen=True)
class Trial:
    """One config and what it did to the dev clips."""

    config: CorrectorConfig
    score: RealScore

    @property
    def admissible(self) -> bool:
        return self.score.worse == 0

    def key(self) -> tuple[int, int, float, int]:
        """Sort key, best first: fewest clips worse, most better, lowest CER, fewest changed."""
        s = self.score
        return (s.worse, -s.better, round(sum(s.after), 6), sum(s.changed))


def tune(
    pipeline: CorrectionPipeline,
    cases: list[RealCase],
    base: CorrectorConfig,
    search: list[list[dict[str, Any]]] | None = None,
    passes: int = 2,
) -> tuple[Trial, list[Trial]]:
    """The best admissible config on ``cases``, and every trial.

    Two coordinate descents: one opens the closed config (:data:`CLOSED`, admissible from
    the start, so it stays admissible), one tightens ``base`` with its stages on (it may
    start with clips made worse and ends wherever the fewest are). The better admissible
    end point wins.
    """
    search = search or SEARCH
    cached = CachedSeq2Seq(pipeline.seq2seq) if pipeline.seq2seq is not None else None
    kiwi = CachedKiwi(pipeline.kiwi)
    lexicon = CachedLexicon(pipeline.lexicon)
    seen: dict[str, Trial] = {}

    def trial(cfg: CorrectorConfig) -> Trial:
        key = cfg.model_dump_json()
        if key not in seen:
            candidate = CorrectionPipeline(cached, lexicon, cfg, kiwi)
            seen[key] = Trial(cfg, score_cases(candidate, cases))
        return seen[key]

    steps = [update for _ in range(passes) for group in search for update in group]
    # from the defaults, tighten what is there: switching a stage off is the other start's move
    tighten = [u for u in steps if not any(k in CLOSED and v == CLOSED[k] for k, v in u.items())]
    ends = []
    with tqdm(total=len(steps) + len(tighten), desc="tune corrector on dev", unit="config") as bar:
        for start, moves in ((base.model_copy(update=CLOSED), steps), (base, tighten)):
            best = trial(start)
            for update in moves:
                t = trial(best.config.model_copy(update=update))
                if t.key() < best.key():
                    best = t
                bar.update(1)
            ends.append(best)
    return min((t for t in ends if t.admissible), key=Trial.key), list(seen.values())


def describe(trials: Iterable[Trial], base: CorrectorConfig) -> list[str]:
    """One line per admissible trial (best first): what differs from ``base`` and its dev figures."""
    lines = []
    defaults = base.model_dump()
    for t in sorted((t for t in trials if t.admissible), key=Trial.key):
        diff = {k: v for k, v in t.config.model_dump().items() if v != defaults[k]}
        lines.append(f"{t.score.summary()} {diff}")
    return lines
