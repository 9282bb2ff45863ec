"""The seq2seq corrector (BART): builds, scores and rewrites in batches.

Without a pretrained KoBART here, the default model is a small BART trained from scratch
on our own corrupted/clean pairs, with a character-level tokenizer: ASR errors are edits
of one or two syllables, and a character vocabulary makes copying the correct rest of the
sentence trivial for the model. A KoBART checkpoint (``--pretrained PATH``) brings its own
tokenizer; everything below works with either. The same model serves two roles: it
rewrites (stage 4) and its likelihood P(candidate | original) is a language-model score
for the reranker (stage 3).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"]
SPACE = "▁"
BASE_CHARS = " 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,?!~'\"()[]%:;-+/·…"


def configure_threads() -> int:
    """Use ``TRIAGE_CORRECTOR_THREADS`` intra-op threads (default 1) and return the number.

    The model is small and its batches are short: on a shared 2-core machine one thread was
    measured 10-100x faster than two (OpenMP threads spin while other processes hold the
    cores), and several BentoML workers each get a core of their own.
    """
    n = max(1, int(os.environ.get("TRIAGE_CORRECTOR_THREADS", "1")))
    torch.set_num_threads(n)
    return n


def build_char_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """A character-level tokenizer over the characters of ``texts`` (space spelled ``▁``)."""
    chars: dict[str, None] = {}
    for t in [BASE_CHARS, *texts]:
        for c in unicodedata.normalize("NFC", t):
            if c != " ":
                chars[c] = None
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    vocab[SPACE] = len(vocab)
    for c in sorted(chars):
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(" ", SPACE)])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.Fuse()])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
    )


def build_model(tokenizer: PreTrainedTokenizerFast, size: dict) -> BartForConditionalGeneration:
    """A BART of the given size (``d_model``, ``layers``, ``heads``, ``ffn``, ``max_positions``)."""
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=size["d_model"],
        encoder_layers=size["layers"],
        decoder_layers=size["layers"],
        encoder_attention_heads=size["heads"],
        decoder_attention_heads=size["heads"],
        encoder_ffn_dim=size["ffn"],
        decoder_ffn_dim=size["ffn"],
        max_position_embeddings=size["max_positions"],
        dropout=size.get("dropout", 0.1),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
        scale_embedding=True,
    )
    return BartForConditionalGeneration(config)


class Seq2Seq:
    """A loaded BART corrector with batched scoring and generation."""

    def __init__(self, model: BartForConditionalGeneration, tokenizer, max_length: int = 160) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = min(max_length, model.config.max_position_embeddings)
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, path: Path, device: str | None = None, max_length: int = 160) -> Seq2Seq:
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
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
