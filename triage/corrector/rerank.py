"""Language-model scores for candidate sentences, and the gain rule that picks one (or none).

score(c) = w_kiwi * kiwipiepy_logprob(c) + w_seq2seq * log P(c | original), both sums of
log-probabilities. The gain of a candidate is its score minus the original's, per
character of the original (so one threshold fits short and long segments), plus a bonus
for words the caller vouched for (hotwords, domain lexicon) or the recogniser proposed
(n-best), minus the phonetic cost of the edit and a prior against words only the generic
dictionary knows. A candidate is kept only when its gain reaches its threshold:
``request_tau`` when the caller or another recogniser proposed it (hotwords, domain terms,
a client's unscored n-best: outside evidence), ``rerank_tau`` when it only comes from our lexicon (tuned on
real Whisper output). With no clear win, the transcript stays as it was.

Whisper's own scored alternatives are weighed differently: the audio already spoke through
their Whisper scores, so their score is a linear one (``nbest_weights``, fitted on the corpus
train speakers' real n-best) over kiwipiepy's gain per character, their log-posterior gain
under Whisper and how much they add, drop or split (:func:`nbest_features`), against
``nbest_tau`` (picked on the dev speakers); the seq2seq model, which only knows the text, has
no say.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.corrector.candidates import Candidate
from triage.corrector.config import CorrectorConfig, NBestWeights
from triage.corrector.rewrite import Seq2Seq


@dataclass(frozen=True)
class KiwiScore:
    """kiwipiepy's best analysis of a text: log-probability and number of morphemes."""

    logprob: float
    morphemes: int


@dataclass
class Scored:
    text: str
    gain: float
    candidate: Candidate | None


class Scorer:
    """Batched LM scores: kiwipiepy's analysis score and the seq2seq likelihood."""

    def __init__(self, kiwi, seq2seq: Seq2Seq | None, cfg: CorrectorConfig) -> None:
        self.kiwi = kiwi
        self.seq2seq = seq2seq
        self.cfg = cfg

    def kiwi_scores(self, texts: list[str]) -> list[KiwiScore]:
        """kiwipiepy's best analysis of each text: its log-probability and morpheme count."""
        if not texts:
            return []
        return [
            KiwiScore(float(res[0][1]), len(res[0][0])) if res else KiwiScore(0.0, 0)
            for res in self.kiwi.analyze(texts)
        ]

    def parts(self, sources: list[str], texts: list[str]) -> tuple[list[KiwiScore], list[float]]:
        """kiwipiepy's analysis and the seq2seq model's log-probability of each text (one call each)."""
        k = self.kiwi_scores(texts)
        if self.seq2seq is not None and self.cfg.weight_seq2seq:
            s = self.seq2seq.score(sources, texts, batch_size=self.cfg.batch_size)
        else:
            s = [0.0] * len(texts)
        return k, s

    def scores(self, sources: list[str], texts: list[str]) -> list[float]:
        """Combined score of each text given its source."""
        kiwi, seq2seq = self.parts(sources, texts)
        return self.combined([k.logprob for k in kiwi], seq2seq)

    def combined(self, kiwi: list[float], seq2seq: list[float]) -> list[float]:
        """``w_kiwi * kiwi + w_seq2seq * seq2seq`` of each text."""
        return [
            self.cfg.weight_kiwi * a + self.cfg.weight_seq2seq * b for a, b in zip(kiwi, seq2seq, strict=True)
        ]


def nbest_features(
    text: str, alternative: Candidate, kiwi: KiwiScore, alternative_kiwi: KiwiScore, n_chars: int
) -> dict[str, float]:
    """What the score of one of Whisper's alternatives weighs (the fields of :class:`NBestWeights`).

    kiwipiepy's log-probability is a sum over morphemes, so it rises when a wording drops a
    syllable (아이유 -> 아유) or fuses two morphemes into one: the length and morpheme changes
    are there to let the fit take that back.
    """
    assert alternative.asr_gain is not None
    n = max(1, n_chars)
    longer = len(alternative.text.replace(" ", "")) - len(text.replace(" ", ""))
    return {
        "kiwi": (alternative_kiwi.logprob - kiwi.logprob) / n,
        "asr": alternative.asr_gain,
        "deleted": float(max(0, -longer)),
        "inserted": float(max(0, longer)),
        "morphemes": (alternative_kiwi.morphemes - kiwi.morphemes) / n,
    }


def nbest_score(features: dict[str, float], weights: NBestWeights) -> float:
    """``bias + sum(weight * feature)``: a logit when the weights were fitted."""
    return weights.bias + sum(getattr(weights, name) * value for name, value in features.items())


def gain_of(cand: Candidate, score: float, base_score: float, n_chars: int, cfg: CorrectorConfig) -> float:
    """Per-character gain of a candidate over the current text, with bonus and edit penalty."""
    n = max(1, n_chars)
    gain = (score - base_score) / n - cfg.weight_distance * cand.edit_cost / n
    if cand.source == "hunspell":
        gain -= cfg.generic_word_penalty / n
    if cand.trusted:
        gain += cfg.trusted_bonus
    elif cand.source == "nbest":
        gain += cfg.nbest_bonus
    return gain


def rerank_round(
    scorer: Scorer,
    originals: list[str],
    currents: list[str],
    candidates: list[list[Candidate]],
) -> list[Scored | None]:
    """Score every segment's candidates in one batch; per segment, the best one that passes its threshold."""
    cfg = scorer.cfg
    sources: list[str] = []
    texts: list[str] = []
    owners: list[int] = []
    for i, cands in enumerate(candidates):
        if not cands:
            continue
        for t in [currents[i]] + [c.text for c in cands]:
            sources.append(originals[i])
            texts.append(t)
            owners.append(i)
    kiwi, seq2seq = scorer.parts(sources, texts) if texts else ([], [])
    scores = scorer.combined([x.logprob for x in kiwi], seq2seq)
    out: list[Scored | None] = [None] * len(originals)
    k = 0
    for i, cands in enumerate(candidates):
        if not cands:
            continue
        best: Scored | None = None
        n_chars = len(originals[i].replace(" ", ""))
        for j, cand in enumerate(cands):
            if cand.asr_gain is not None:
                features = nbest_features(currents[i], cand, kiwi[k], kiwi[k + 1 + j], n_chars)
                g, tau = nbest_score(features, cfg.nbest_weights), cfg.nbest_tau
            else:
                g = gain_of(cand, scores[k + 1 + j], scores[k], n_chars, cfg)
                tau = cfg.request_tau if cand.trusted or cand.source == "nbest" else cfg.rerank_tau
            if g >= tau and (best is None or g > best.gain):
                best = Scored(cand.text, g, cand)
        k += 1 + len(cands)
        out[i] = best
    return out
