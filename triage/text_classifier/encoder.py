"""A frozen multilingual language model (Gemma 3 270M) as a sentence encoder for the category.

The BERT members learn Korean from a few thousand authored sentences and pick the category
by its keywords: an accident that mentions bleeding becomes medical. A language model
pretrained on a large multilingual corpus has read far more Korean than that; kept frozen, it
turns a sentence into a vector (the mean of its output over the sentence's tokens) on which
a logistic regression (:mod:`triage.text_classifier.category_head`) learns the
categories from the same sentences, and on dev names them more often than the members do.
It is imported into the model store as ``text_encoder`` by
``training/text_classifier/import_encoder.py``.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModel

from triage.device import pick_device
from triage.text_classifier import ENCODER_MODEL_NAME

MAX_TOKENS = 128
BATCH_SIZE = 32
EMBEDDING = "embed_tokens.weight"
SAFETENSORS_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


class SentenceEncoder:
    """Mean-pooled output of a stored causal language model, one vector per text.

    The output is the last (18th) layer's hidden states after the final norm: on dev
    (``test.tsv`` and ``dev_far.tsv``) it named the category best of layers 6-18, with layer 15.
    """

    def __init__(self, path: Path | str, device: str | None = None) -> None:
        self.device = device or pick_device()
        self.model = load_with_mapped_embedding(Path(path)).to(self.device).eval()
        self.tokenizer = load_tokenizer(Path(path), pad_id=self.model.config.pad_token_id)

    @classmethod
    def from_store(cls, tag: str = ENCODER_MODEL_NAME, **kwargs) -> SentenceEncoder:
        """Load ``tag`` (a name, for its latest version, or ``name:version``) from the model store."""
        from triage.model_store import get_model

        return cls(get_model(tag).path, **kwargs)

    @torch.no_grad()
    def embed(self, texts: list[str]) -> np.ndarray:
        """[len(texts), hidden] float32 sentence vectors; special tokens and padding are left out.

        Only the output is asked for: every layer's hidden states (0.2 GB for 32 texts of 128
        tokens) or a key-value cache (0.15 GB; built unless refused) would be read by nothing."""
        out = []
        for start in range(0, len(texts), BATCH_SIZE):
            encodings = self.tokenizer.encode_batch(
                [" ".join(t.split()) for t in texts[start : start + BATCH_SIZE]]
            )
            ids, attention, special = (
                torch.tensor([getattr(e, field) for e in encodings], device=self.device)
                for field in ("ids", "attention_mask", "special_tokens_mask")
            )
            hidden = self.model(input_ids=ids, attention_mask=attention, use_cache=False).last_hidden_state
            weights = (attention * (1 - special)).unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            out.append(pooled.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), np.float32)


def load_tokenizer(path: Path, pad_id: int) -> Tokenizer:
    """The stored fast tokenizer on its own, cutting at ``MAX_TOKENS`` and padding on the right:
    transformers' wrapper around it gives the same ids but its Python-side tables for Gemma's
    262k tokens cost ~0.3 GB more (0.42 vs 0.10 GB measured). The wrapper padded on the left;
    Gemma's rotary positions are relative, so the vectors differ only by float rounding
    (max 8e-5 on 171 dev texts, components ~2; batch shapes alone give 2e-5)."""
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id))
    return tokenizer


def read_safetensors(path: Path, mapped: str) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file; ``mapped`` stays a copy-on-write view of the file
    (a page of it is read from disk only when one of its elements is), the rest is read into
    memory (not mapped, so their pages do not stay in the process once copied)."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = {k: v for k, v in json.loads(f.read(size)).items() if k != "__metadata__"}
        tensors = {}
        for name, spec in header.items():
            start, end = spec["data_offsets"]
            dtype, shape = SAFETENSORS_DTYPES[spec["dtype"]], spec["shape"]
            if name == mapped:
                offset = 8 + size + start
                view = np.memmap(path, dtype=np.uint8, mode="c", offset=offset, shape=(end - start,))
                tensors[name] = torch.frombuffer(view, dtype=dtype).view(shape)
            else:
                f.seek(8 + size + start)
                tensors[name] = torch.frombuffer(bytearray(f.read(end - start)), dtype=dtype).view(shape)
    return tensors


def _embed_in_float32(self: torch.nn.Embedding, input_ids: torch.Tensor) -> torch.Tensor:
    """Gemma's scaled lookup in float32 from a half-precision table: the rows widen exactly,
    so the vectors equal those of a table widened whole."""
    return F.embedding(input_ids, self.weight, self.padding_idx).float() * self.embed_scale.float()


def _linear_in_float32(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """The layer's weights widened to the input's float32 at use, one layer at a time."""
    return F.linear(x, self.weight.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


def load_with_mapped_embedding(path: Path) -> torch.nn.Module:
    """The stored model computing in float32, as ``from_pretrained(dtype=float32)`` would, so
    the vectors are the same, but holding its weights in their stored precision (bfloat16 for
    the imported Gemma): the linear layers' weights are widened when used (191 MiB kept
    instead of 382), and the token-embedding table stays on disk, mapped: Gemma's 262k-token
    table is 63 % of its weights (0.67 GB in float32) and a Korean call touches a few thousand
    of its rows."""
    config = AutoConfig.from_pretrained(path)
    vocab_size, config.vocab_size = config.vocab_size, 1  # no table allocated for the layers' build
    model = AutoModel.from_config(config, dtype=torch.float32)
    tensors = read_safetensors(path / "model.safetensors", mapped=EMBEDDING)
    table = tensors.pop(EMBEDDING)
    linear = {name: module for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    state = {k: v if k.rpartition(".")[0] in linear else v.float() for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing != [EMBEDDING] or unexpected:
        raise ValueError(f"{path}: unexpected weights (missing {missing}, unexpected {unexpected})")
    embedding = model.get_input_embeddings()
    embedding.weight = torch.nn.Parameter(table, requires_grad=False)
    embedding.num_embeddings = model.config.vocab_size = vocab_size
    embedding.forward = types.MethodType(_embed_in_float32, embedding)
    for module in linear.values():
        module.forward = types.MethodType(_linear_in_float32, module)
    return model
