"""Every threshold of the corrector in one pydantic model, stored with the model as metadata.

The values below are defaults. A threshold only means something beside the scorer that
produced its gains, so the config travels with the model: training writes the config it
used into the BentoML model's metadata and the runner reads it back from there. Nothing
in the pipeline hard-codes a number that is not here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class NBestWeights(BaseModel):
    """Weights of a linear score over what tells a better alternative of Whisper's from a worse one.

    The score is ``bias + sum(weight * feature)`` over the features of
    :func:`triage.corrector.rerank.nbest_features`; training fits them as a logistic
    regression on the corpus train speakers' real n-best (``training.corrector.nbest_fit``),
    so a score of 0 is even odds that the alternative is closer to what was said. The
    defaults (kiwipiepy gain plus a share of Whisper's) serve a model trained without that fit.
    """

    kiwi: float = Field(1.0, description="per nat of kiwipiepy log-prob gain per character of the text")
    asr: float = Field(0.125, description="per nat of Whisper log-posterior gain")
    deleted: float = Field(0.0, description="per character the alternative has fewer (spaces aside)")
    inserted: float = Field(0.0, description="per character the alternative has more")
    morphemes: float = Field(0.0, description="per kiwipiepy morpheme more, per character of the text")
    bias: float = 0.0


class CorrectorConfig(BaseModel):
    """Thresholds and weights of the six stages (spans, candidates, rerank, rewrite, postprocess, guard)."""

    # 1. low-confidence spans
    word_confidence_threshold: float = Field(0.6, description="words/tokens below this are suspect")
    token_logprob_threshold: float = Field(-1.0, description="tokens whose log-prob is below are suspect")
    kiwi_rare_syllable_score: float = Field(
        -15.0, description="a one-syllable noun or a morpheme scored below this per character is suspect"
    )
    max_spans_per_segment: int = Field(6, description="bounds the candidate fan-out per segment")
    skip_no_speech_prob: float = Field(0.8, description="segments likelier silence than speech pass through")

    # 2. candidates
    lexicon_enabled: bool = Field(
        True, description="phonetic candidates from our lexicon (off: only hotwords, domain terms, n-best)"
    )
    top_k: int = Field(5, description="phonetic neighbours kept per span")
    max_phonetic_distance: float = Field(0.28, description="normalised weighted jamo distance")
    max_change_distance: float = Field(
        0.5, description="normalised jamo distance of only the changed syllables (one of context each side)"
    )
    prefilter_cutoff: float = Field(0.5, description="plain jamo Levenshtein pre-filter (normalised)")
    min_span_syllables: int = Field(2, description="shorter spans have too many neighbours to trust")
    max_candidates_per_segment: int = Field(40, description="sentences scored per segment and round")
    rerank_rounds: int = Field(3, description="greedy rounds: each may fix one more span")

    # 3. rerank (scores are log-probabilities per character of the original)
    weight_kiwi: float = Field(1.0, description="weight of kiwipiepy's analysis score")
    weight_seq2seq: float = Field(1.0, description="weight of the seq2seq likelihood P(candidate | original)")
    weight_distance: float = Field(1.0, description="penalty per unit of phonetic distance of the edit")
    generic_word_penalty: float = Field(
        4.0, description="nats against a word only hunspell-ko knows (our corpus is in-domain)"
    )
    trusted_known_max_distance: float = Field(
        0.12, description="a known word is replaced by a hotword/domain term only when this close"
    )
    trusted_bonus: float = Field(0.3, description="bonus for candidates from hotwords or domain_lexicon")
    nbest_bonus: float = Field(0.1, description="bonus for a client's unscored n-best alternatives")
    rerank_tau: float = Field(0.9, description="minimum gain over the original to keep a lexicon candidate")
    request_tau: float = Field(
        0.9,
        description="minimum gain of a hotword, domain-term or client n-best candidate (outside evidence)",
    )
    asr_nbest_enabled: bool = Field(
        True, description="choose among Whisper's own scored n-best (off: its alternatives are ignored)"
    )
    nbest_weights: NBestWeights = Field(
        default_factory=NBestWeights,
        description="how a Whisper alternative is scored against the text (fitted on real n-best)",
    )
    nbest_tau: float = Field(0.3, description="minimum score of a Whisper alternative (``nbest_weights``)")
    nbest_max_length_change: float = Field(
        0.2, description="alternatives longer or shorter than the text by more than this share are ignored"
    )

    # 4. seq2seq rewrite
    rewrite_enabled: bool = True
    rewrite_tau: float = Field(0.3, description="minimum score gain of the rewrite over its input")
    rewrite_max_cer: float = Field(
        0.15, description="rewrites farther than this from their input are dropped"
    )
    num_beams: int = Field(1, description="beam width of generation (1 = greedy)")
    max_length: int = Field(160, description="token limit for inputs and outputs of the seq2seq model")

    # 5. postprocess
    fix_spacing: bool = Field(True, description="kiwipiepy spacing when an eojeol is implausibly long")
    spacing_min_eojeol_chars: int = Field(9, description="only eojeols at least this long are re-spaced")
    terminal_punctuation: bool = Field(False, description="add a final '.' when a sentence has none")
    max_ngram: int = Field(4, description="longest word n-gram checked for loops")
    max_ngram_repeats: int = Field(
        2, description="consecutive repeats of an n-gram kept (emergency callers repeat)"
    )

    # 6. guard
    guard_max_cer: float = Field(
        0.40, description="if CER(original, corrected) exceeds this, keep the original"
    )

    # batching
    batch_size: int = Field(64, description="sequences per seq2seq forward pass")
