"""Where models run and how many CPU threads they take: one answer for every model.

Runners, training scripts and benchmarks all call these functions, so a GPU is used
whenever one is visible and thread counts come from :class:`triage.config.Settings` (or
a training script's ``--threads``) instead of being set a different way in each place.
"""

from __future__ import annotations

import os


def pick_device() -> str:
    """``cuda`` when PyTorch sees a GPU, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def ctranslate2_device() -> str:
    """``cuda`` when CTranslate2 sees a GPU, else ``cpu``.

    Asked of CTranslate2 itself so that the Whisper runner, which serves through CTranslate2,
    does not import torch only to choose a device.
    """
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def cpu_threads(requested: int) -> int:
    """``requested`` threads, or every core this process may use when it is 0 or less."""
    return int(requested) if requested > 0 else len(os.sched_getaffinity(0))


def set_torch_threads(requested: int) -> int:
    """Limit PyTorch's intra-op pool to :func:`cpu_threads` of ``requested``; returns the count.

    Models that share a small CPU thrash when each takes every core, so each runner asks
    for its own count from the settings; batches, not threads, bring the throughput there.
    """
    import torch

    threads = cpu_threads(requested)
    torch.set_num_threads(threads)
    return threads
