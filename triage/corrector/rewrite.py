"""The stored seq2seq corrector (BART): scores and rewrites in batches.

The model is either our small character-level BART (``training/corrector/seq2seq.py``) or
a KoBART checkpoint with its own tokenizer; everything below works with either. The same
model serves two roles: it rewrites (stage 4) and its likelihood P(candidate | original)
is a language-model score for the reranker (stage 3).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, BartForConditionalGeneration

from triage.device import pick_device


class Seq2Seq:
    """A loaded BART corrector with batched scoring and generation."""

    def __init__(self, model: BartForConditionalGeneration, tokenizer, max_length: int = 160) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = min(max_length, model.config.max_position_embeddings)
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, path: Path, device: str | None = None, max_length: int = 160) -> Seq2Seq:
        device = device or pick_device()
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = BartForConditionalGeneration.from_pretrained(str(path)).to(device)
        return cls(model, tokenizer, max_length)

    def _encode(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def has_unknown(self, text: str) -> bool:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer.unk_token_id in ids

    @torch.inference_mode()
    def score(self, sources: list[str], targets: list[str], batch_size: int = 64) -> list[float]:
        """Sum of log P(target token | source, previous tokens) for each pair (one batch per chunk)."""
        out = [0.0] * len(sources)
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]) + len(targets[i]))
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            enc = self._encode([sources[i] for i in idx])
            lab = self._encode([targets[i] for i in idx])
            labels = lab["input_ids"].masked_fill(lab["attention_mask"] == 0, -100)
            logits = self.model(**enc, labels=labels).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
            safe = labels.clamp(min=0)
            tok = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1) * (labels != -100)
            for j, i in enumerate(idx):
                out[i] = float(tok[j].sum())
        return out

    @torch.inference_mode()
    def generate(self, sources: list[str], num_beams: int = 1, batch_size: int = 64) -> list[str]:
        """Rewrites of each source (greedy or beam), decoded without special tokens."""
        out = [""] * len(sources)
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            enc = self._encode([sources[i] for i in idx])
            longest = int(enc["input_ids"].shape[1])
            gen = self.model.generate(
                **enc,
                num_beams=num_beams,
                do_sample=False,
                max_new_tokens=min(self.max_length, longest + 16),
            )
            texts = self.tokenizer.batch_decode(gen, skip_special_tokens=True)
            for j, i in enumerate(idx):
                out[i] = " ".join(texts[j].split())
        return out
