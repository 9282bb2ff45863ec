"""(noisy, clean) sentence pairs for the corrector: ASR-corrupted copies of clean Korean.

The corruptions are those of :mod:`training.asr_noise`. Training pairs keep a share of
clean copies so the model learns that most input needs no change; held-out pairs are
always noisy, and their seed is fixed so CER before/after is comparable across runs.
"""

from __future__ import annotations

import random

from training.asr_noise import corrupt


def make_pairs(
    sentences: list[str], seed: int, copies: int = 1, identity_share: float = 0.3, max_edits: int = 3
) -> list[tuple[str, str]]:
    """(noisy, clean) pairs; ``identity_share`` of them are (clean, clean) so the model learns to copy."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(copies):
        for s in sentences:
            if rng.random() < identity_share:
                pairs.append((s, s))
            else:
                noisy = corrupt(s, rng, max_edits)
                pairs.append((noisy, s))
    return pairs


def held_out_pairs(held_out: list[str], seed: int = 20261129, max_edits: int = 2) -> list[tuple[str, str]]:
    """Noisy versions of every held-out sentence (never clean copies), for CER before/after."""
    rng = random.Random(seed)
    out = []
    for s in held_out:
        noisy = corrupt(s, rng, max_edits)
        if noisy != s:
            out.append((noisy, s))
    return out
