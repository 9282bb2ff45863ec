"""Build every model of the graph into the BentoML model store, in dependency order.

Idempotent: a model already in the store is skipped unless ``--force``. ``--profile test``
builds the small, fast models the test suite uses; ``default`` builds the served ones.

    python -m training.build_models                  # what `make models` runs
    python -m training.build_models --profile test --force
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from triage import audio_classifier, corrector, fusion, text_classifier, whisper
from triage.model_store import has_model

# (model name in the store, training module, whether it takes --profile/--seed)
STEPS: list[tuple[str, str, bool]] = [
    (whisper.MODEL_NAME, "training.whisper.import_weights", False),
    (audio_classifier.MODEL_NAME, "training.audio_classifier.train", True),
    (text_classifier.ENCODER_MODEL_NAME, "training.text_classifier.import_encoder", False),
    (text_classifier.MODEL_NAME, "training.text_classifier.train", True),
    (corrector.MODEL_NAME, "training.corrector.train", True),
    (fusion.MODEL_NAME, "training.fusion.train", True),
]


def build_models(profile: str, force: bool = False, only: list[str] | None = None) -> None:
    """Run each step's module in its own process so a failed step names itself clearly."""
    for name, module, trains in STEPS:
        if only and name not in only:
            continue
        if has_model(name) and not force:  # checked here: a step's process costs seconds to start
            print(f"==> {name}: already in the model store", flush=True)
            continue
        command = [sys.executable, "-m", module]
        if trains:
            command += ["--profile", profile]
        if force:
            command.append("--force")
        print(f"==> {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        subprocess.run(command, check=True)
        print(f"==> {name} ready in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=["test", "default"], default="default")
    parser.add_argument("--force", action="store_true", help="rebuild models already in the store")
    parser.add_argument("--only", nargs="*", help="build only these model names")
    args = parser.parse_args()
    build_models(args.profile, args.force, args.only)


if __name__ == "__main__":
    main()
