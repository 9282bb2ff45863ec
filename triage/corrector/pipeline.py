"""The whole corrector, batch in, batch out: spans -> candidates -> rerank -> rewrite -> postprocess -> guard.

The expensive model calls cover the whole batch (all segments of all requests the runner
got at once): each rerank round scores every segment's candidates with one kiwipiepy
analysis and one seq2seq forward, and the rewrite is one generation and one scoring pass.
Span finding and post-processing still analyse each segment with kiwipiepy on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from triage.corrector import MODEL_NAME
from triage.corrector.candidates import (
    Candidate,
    nbest_candidates,
    phonetic_candidates,
    request_words,
    trusted_candidates,
)
from triage.corrector.config import CorrectorConfig
from triage.corrector.guard import edit_rate, guard
from triage.corrector.lexicon import Lexicon
from triage.corrector.postprocess import postprocess
from triage.corrector.rerank import Scorer, rerank_round
from triage.corrector.rewrite import Seq2Seq
from triage.corrector.schemas import CorrectionItem, SegmentIn, SegmentOut
from triage.corrector.spans import find_spans, keeps_known_words, known_words

log = logging.getLogger(__name__)
LEXICON_FILE = "lexicon.tsv"


@dataclass
class _State:
    item: CorrectionItem
    original: str
    current: str
    active: bool
    extra: dict[str, str] = field(default_factory=dict)
    picked: str | None = None
    gain: float = 0.0
    suspect: bool = False
    """Whether the first round found anything to doubt (a span or a caller's word nearby)."""


class CorrectionPipeline:
    """Conservative ASR error correction for Korean segments."""

    def __init__(self, seq2seq: Seq2Seq | None, lexicon: Lexicon, cfg: CorrectorConfig, kiwi=None) -> None:
        if kiwi is None:
            from kiwipiepy import Kiwi

            kiwi = Kiwi()
        self.kiwi = kiwi
        self.seq2seq = seq2seq
        self.lexicon = lexicon
        self.cfg = cfg
        self.scorer = Scorer(kiwi, seq2seq, cfg)

    @classmethod
    def from_path(cls, path: Path, metadata: dict, device: str | None = None) -> CorrectionPipeline:
        """Load from a model-store folder: BART + tokenizer, lexicon, and the config in metadata."""
        cfg = CorrectorConfig.model_validate(metadata.get("config", {}))
        seq2seq = Seq2Seq.load(path, device=device, max_length=cfg.max_length)
        lexicon = Lexicon.load(path / LEXICON_FILE)
        return cls(seq2seq, lexicon, cfg)

    @classmethod
    def from_store(cls, name: str = MODEL_NAME) -> CorrectionPipeline:
        from triage.model_store import get_model

        model = get_model(name)
        return cls.from_path(Path(model.path), dict(model.info.metadata))

    def correct_texts(self, texts: list[str]) -> list[str]:
        """Convenience for evaluation: plain strings in, corrected strings out."""
        items = [CorrectionItem(segment=SegmentIn(text=t)) for t in texts]
        return [o.corrected for o in self.correct(items)]

    def correct(self, items: list[CorrectionItem]) -> list[SegmentOut]:
        cfg = self.cfg
        states: list[_State] = []
        for it in items:
            text = " ".join(it.segment.text.split())
            quiet = (it.segment.no_speech_prob or 0.0) > cfg.skip_no_speech_prob
            states.append(
                _State(
                    it,
                    text,
                    text,
                    active=bool(text) and not quiet,
                    extra=request_words(it.hotwords, it.domain_lexicon),
                )
            )
        active = [s for s in states if s.active]
        if active:
            self._rerank(active)
            suspects = [s for s in active if s.suspect]
            if cfg.rewrite_enabled and self.seq2seq is not None and suspects:
                self._rewrite(suspects)
            for s in active:
                s.current = postprocess(s.current, self.kiwi, cfg)
                s.current, _ = guard(s.original, s.current, cfg.guard_max_cer)
        return [
            SegmentOut(
                id=s.item.segment.id,
                start=s.item.segment.start,
                end=s.item.segment.end,
                original=s.item.segment.text,
                picked_candidate=s.picked,
                gain=round(s.gain, 4),
                corrected=s.current if s.active else s.item.segment.text,
            )
            for s in states
        ]

    def _rerank(self, states: list[_State]) -> None:
        """Greedy rounds: each round may replace one more span per segment (all segments batched)."""
        cfg = self.cfg
        open_ = list(states)
        for rnd in range(cfg.rerank_rounds):
            cands: list[list[Candidate]] = []
            for s in open_:
                seg = s.item.segment.model_copy(update={"text": s.current})
                if rnd > 0:  # confidences refer to the original wording only
                    seg = seg.model_copy(update={"words": [], "tokens": []})
                spans = find_spans(seg, self.kiwi, self.lexicon, cfg)
                c = phonetic_candidates(s.current, spans, self.lexicon, cfg) if cfg.lexicon_enabled else []
                c += trusted_candidates(s.current, s.extra, cfg, self.lexicon)
                if rnd == 0:
                    s.suspect = bool(spans or c)
                    nbest = nbest_candidates(s.current, s.item.segment.nbest, cfg.nbest_max_length_change)
                    # Whisper's own scored alternatives only when they are weighed at all
                    c += [a for a in nbest if cfg.asr_nbest_enabled or a.asr_gain is None]
                cands.append(c)
            picks = rerank_round(self.scorer, [s.original for s in open_], [s.current for s in open_], cands)
            still = []
            for s, pick in zip(open_, picks, strict=True):
                if pick is None:
                    continue
                s.current = pick.text
                s.picked = pick.text
                s.gain += pick.gain
                still.append(s)
            open_ = still
            if not open_:
                break

    def _rewrite(self, states: list[_State]) -> None:
        """Seq2seq rewrite of the segments that had something to doubt.

        A rewrite is kept only when it scores clearly better than its input, stays close to it,
        and keeps every real word of the input (the model alone may respell a misheard
        stretch, not swap one real word for another).
        """
        cfg = self.cfg
        assert self.seq2seq is not None
        inputs = [s.current for s in states]
        # text the tokenizer cannot spell would come back without those characters: leave it as is
        rewritable = [not self.seq2seq.has_unknown(x) for x in inputs]
        outputs = self.seq2seq.generate(inputs, num_beams=cfg.num_beams, batch_size=cfg.batch_size)
        idx = [
            i
            for i, (x, y) in enumerate(zip(inputs, outputs, strict=True))
            if rewritable[i]
            and y
            and y != x
            and edit_rate(x, y) <= cfg.rewrite_max_cer
            and keeps_known_words(known_words(x, self.kiwi), y)
        ]
        if not idx:
            return
        srcs = [inputs[i] for i in idx]
        scores = self.scorer.scores(srcs + srcs, srcs + [outputs[i] for i in idx])
        n = len(idx)
        for j, i in enumerate(idx):
            base, new = scores[j], scores[n + j]
            gain = (new - base) / max(1, len(inputs[i].replace(" ", "")))
            if gain >= cfg.rewrite_tau:
                states[i].current = outputs[i]
