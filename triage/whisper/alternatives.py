"""Whisper's n-best: the other hypotheses its beam search finished with, for the corrector.

A beam of width k ends with k finished hypotheses; faster-whisper keeps the best and drops
the rest. The rest are where Whisper itself hesitated (애속한 / 애석한, 깊어 / 기뻐), scored
by Whisper on the audio, which no text-only corrector can see: with a Korean language model
over them the corrector can pick a better sentence than Whisper's first (on the corpus dev
speakers the best of the five was better for 31 of 180 clips). Asking the same search for
all k costs nothing measurable: the beam holds them anyway.

:class:`NBestPipeline` is faster-whisper's batched pipeline with its one ctranslate2 call
asking for ``num_hypotheses=beam_size``; everything else, the best hypothesis included, is
faster-whisper's own. The alternatives of the last decode are kept per input, keyed by the
frame offset faster-whisper stamps on that input's segments (``Segment.seek``).
"""

from __future__ import annotations

import numpy as np
from faster_whisper import BatchedInferencePipeline

from triage.whisper.schemas import Hypothesis


class NBestPipeline(BatchedInferencePipeline):
    """faster-whisper's batched pipeline, keeping every finished beam hypothesis of each input."""

    def __init__(self, model, keep_alternatives: bool = True) -> None:
        super().__init__(model)
        self.keep_alternatives = keep_alternatives
        self.alternatives: dict[int, list[Hypothesis]] = {}
        """Input frame offset (``Segment.seek``) -> hypotheses of the last decode, best first."""
        self._batch_alternatives: list[list[Hypothesis]] = []

    def forward(self, features: np.ndarray, tokenizer, chunks_metadata: list[dict], options):
        outputs = super().forward(features, tokenizer, chunks_metadata, options)
        fps = self.model.frames_per_second
        for chunk, hypotheses in zip(chunks_metadata, self._batch_alternatives, strict=True):
            self.alternatives[int(chunk["offset"] * fps)] = hypotheses
        return outputs

    def generate_segment_batched(self, features: np.ndarray, tokenizer, options):
        """faster-whisper 1.2's ``generate_segment_batched`` with ``num_hypotheses=beam_size``
        (1 when not ``keep_alternatives``: then it decodes exactly as faster-whisper's).

        Left out, because the engine never asks for them: ``max_new_tokens`` and the per-input
        language detection of ``multilingual=True``.
        """
        prompt = self.model.get_prompt(
            tokenizer,
            previous_tokens=(
                tokenizer.encode(options.initial_prompt) if options.initial_prompt is not None else []
            ),
            without_timestamps=options.without_timestamps,
            hotwords=options.hotwords,
        )
        encoder_output = self.model.encode(features)
        results = self.model.model.generate(
            encoder_output,
            [list(prompt) for _ in range(features.shape[0])],
            beam_size=options.beam_size,
            num_hypotheses=options.beam_size if self.keep_alternatives else 1,
            patience=options.patience,
            length_penalty=options.length_penalty,
            max_length=self.model.max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=options.temperatures[0],
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
        )
        output, self._batch_alternatives = [], []
        for result in results:
            cumulative = [
                score * len(ids) ** options.length_penalty
                for ids, score in zip(result.sequences_ids, result.scores, strict=True)
            ]
            seq_len = len(result.sequences_ids[0])
            output.append(
                {
                    "avg_logprob": cumulative[0] / (seq_len + 1),
                    "no_speech_prob": result.no_speech_prob,
                    "tokens": result.sequences_ids[0],
                }
            )
            self._batch_alternatives.append(pooled(tokenizer, result.sequences_ids, cumulative))
        return encoder_output, output


def pooled(tokenizer, sequences: list[list[int]], logprobs: list[float]) -> list[Hypothesis]:
    """The hypotheses as texts, best first; hypotheses that differ only in their timestamp
    tokens are one text, whose probability is theirs summed."""
    texts: dict[str, list[float]] = {}
    for ids, logprob in zip(sequences, logprobs, strict=True):
        texts.setdefault(tokenizer.decode(ids).strip(), []).append(logprob)
    return [Hypothesis(text=t, logprob=float(np.logaddexp.reduce(lps))) for t, lps in texts.items()]
