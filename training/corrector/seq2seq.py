"""A new seq2seq corrector, built from nothing: character tokenizer and a small BART.

Without a pretrained KoBART here, the default model is a small BART trained from scratch
on our own corrupted/clean pairs, with a character-level tokenizer: ASR errors are edits
of one or two syllables, and a character vocabulary makes copying the correct rest of the
sentence trivial for the model. ``--pretrained PATH`` replaces both with a KoBART
checkpoint and its own tokenizer; serving (``triage.corrector.rewrite``) loads either.
"""

from __future__ import annotations

import unicodedata

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"]
SPACE = "▁"
BASE_CHARS = " 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,?!~'\"()[]%:;-+/·…"


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
