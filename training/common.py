"""Helpers every training script shares: command-line options, seeding and calibration error.

One implementation each, so two models that report an ECE measure the same thing, a
seed means the same draws everywhere and every script answers ``training.build_models``'s
options the same way.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable

import numpy as np


def training_parser(description: str, profiles: Iterable[str], seed: int = 0) -> argparse.ArgumentParser:
    """A parser with the options ``training.build_models`` passes: ``--profile``, ``--force``, ``--seed``.

    Scripts add their own options to it; ``description`` is shown verbatim (module docstrings
    carry usage examples).
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(profiles), default="default")
    parser.add_argument("--force", action="store_true", help="rebuild even if the model is in the store")
    parser.add_argument("--seed", type=int, default=seed)
    return parser


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def expected_calibration_error(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of predicted probabilities against 0/1 outcomes.

    Probabilities fall in ``bins`` equal-width bins, right-closed ((0.1, 0.2] is one bin);
    the error is the bin-size-weighted gap between mean probability and outcome rate. For
    a multi-class model pass the top label's probability and whether it was right; for a
    binary one, P(positive) and the truth.
    """
    probability = np.asarray(probability, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(probability[mask].mean() - outcome[mask].mean())
    return float(error)
