"""A frozen multilingual language model (Gemma 3 270M) as a sentence encoder for the category.

The BERT members learn Korean from a few thousand authored sentences and pick the category
by its keywords: an accident that mentions bleeding becomes medical. A language model
pretrained on a large multilingual corpus has read far more Korean than that; kept frozen, it
turns a sentence into a vector (the mean of one layer's hidden states over its tokens) on
which a logistic regression (:mod:`triage.text_classifier.category_head`) learns the
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
from transformers import AutoConfig, AutoModel, AutoTokenizer

from triage.device import pick_device
from triage.text_classifier import ENCODER_MODEL_NAME

POOL_LAYER = 18
"""Hidden states averaged into the sentence vector: the last of Gemma 3 270M's 18 layers, with
layer 15 the best of layers 6-18 for the category on dev (``test.tsv`` and ``dev_far.tsv``)."""
MAX_TOKENS = 128
BATCH_SIZE = 32
EMBEDDING = "embed_tokens.weight"
SAFETENSORS_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


class SentenceEncoder:
    """Mean-pooled hidden states of a stored causal language model, one vector per text."""

    def __init__(self, path: Path | str, device: str | None = None, layer: int = POOL_LAYER) -> None:
        self.device = device or pick_device()
        self.layer = layer
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = load_with_mapped_embedding(Path(path)).to(self.device).eval()

    @classmethod
    def from_store(cls, tag: str = ENCODER_MODEL_NAME, **kwargs) -> SentenceEncoder:
        """Load ``tag`` (a name, for its latest version, or ``name:version``) from the model store."""
        from triage.model_store import get_model

        return cls(get_model(tag).path, **kwargs)

    @torch.no_grad()
    def embed(self, texts: list[str]) -> np.ndarray:
        """[len(texts), hidden] float32 sentence vectors; special tokens and padding are left out."""
        out = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = self.tokenizer(
                [" ".join(t.split()) for t in texts[start : start + BATCH_SIZE]],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            keep = (batch["attention_mask"] * (1 - batch.pop("special_tokens_mask"))).to(self.device)
            hidden = self.model(**batch.to(self.device), output_hidden_states=True).hidden_states[self.layer]
            weights = keep.unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            out.append(pooled.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), np.float32)


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


def load_with_mapped_embedding(path: Path) -> torch.nn.Module:
    """The stored model in float32, but for its token-embedding table, which stays on disk in
    its stored precision and mapped: Gemma's 262k-token table is 63 % of its weights (0.67 GB
    in float32) and a Korean call touches a few thousand of its rows. The layers are widened
    to float32 as ``from_pretrained(dtype=float32)`` would, so the vectors are the same."""
    config = AutoConfig.from_pretrained(path)
    vocab_size, config.vocab_size = config.vocab_size, 1  # no table allocated for the layers' build
    model = AutoModel.from_config(config, dtype=torch.float32)
    tensors = read_safetensors(path / "model.safetensors", mapped=EMBEDDING)
    table = tensors.pop(EMBEDDING)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    if missing != [EMBEDDING] or unexpected:
        raise ValueError(f"{path}: unexpected weights (missing {missing}, unexpected {unexpected})")
    embedding = model.get_input_embeddings()
    embedding.weight = torch.nn.Parameter(table, requires_grad=False)
    embedding.num_embeddings = model.config.vocab_size = vocab_size
    embedding.forward = types.MethodType(_embed_in_float32, embedding)
    return model
