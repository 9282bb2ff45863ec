"""Pretrained knowledge for the text encoder from Whisper's own decoder, reachable offline.

No KoBERT is reachable here, but Whisper base is in the model store, and its decoder is a
multilingual language model trained on 680k hours of transcripts, Korean among them. Its
byte-level BPE vocabulary already spells Korean the way Whisper writes it (errors
included), and its token embeddings place related words near each other. A BERT trained
from nothing on a few thousand template sentences knows only their words; one that starts
from these embeddings (projected to its width by PCA, then fine-tuned with the rest) meets
an unseen word with a vector that already means something.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from training.text_classifier.tokenizer import SPECIAL_TOKENS, as_bert_tokenizer

EMBEDDING_STD = 0.02
"""BERT's own initialisation scale: word vectors then weigh as much as position vectors."""


def whisper_tokenizer(whisper_dir: Path, max_length: int) -> PreTrainedTokenizerFast:
    """Whisper's BPE vocabulary with BERT's special tokens appended and its [CLS] ... [SEP] template.

    A leading space is added as Whisper's transcripts have one: words then split the way
    the decoder wrote them.
    """
    tokenizer = Tokenizer.from_file(str(whisper_dir / "ct2" / "tokenizer.json"))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    return as_bert_tokenizer(tokenizer, max_length)


def whisper_token_embeddings(
    whisper_dir: Path, tokenizer: PreTrainedTokenizerFast, hidden: int, seed: int
) -> torch.Tensor:
    """A [len(tokenizer), hidden] table: Whisper's token embeddings projected by PCA.

    The special tokens appended by :func:`whisper_tokenizer` get random rows at the same scale.
    """
    state = torch.load(whisper_dir / "openai" / "model.pt", map_location="cpu", weights_only=True)
    table = state["model_state_dict"]["decoder.token_embedding.weight"].float()
    centred = table - table.mean(dim=0)
    _, _, components = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:hidden].T
    projected = projected / projected.std() * EMBEDDING_STD
    generator = torch.Generator().manual_seed(seed)
    out = torch.randn(len(tokenizer), hidden, generator=generator) * EMBEDDING_STD
    rows = min(min(tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS)), projected.shape[0])
    out[:rows] = projected[:rows]
    return out
