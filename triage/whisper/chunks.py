"""Cut clips into Whisper's 30-second windows so several clips decode as one batch.

Whisper was trained on 30 s of audio per window. A batch of requests becomes a flat list
of windows (a clip of up to 30 s is one window; a 60 s clip is two); the engines decode
that list in batches and the results are stitched back per clip with their offsets.
:func:`context_frames` says how much of a window's 30 s the short encoder context encodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triage.config import SAMPLE_RATE

WINDOW_SECONDS = 30
SEARCH_SECONDS = 10
FRAMES_PER_SECOND = 100  # Whisper's log-mel hop is 10 ms
WINDOW_FRAMES = WINDOW_SECONDS * FRAMES_PER_SECOND
CONTEXT_MARGIN_S = 1.0


@dataclass(frozen=True)
class Window:
    """Samples of one 30-second window, with the clip it came from and its offset in seconds."""

    clip: int
    offset_s: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE


def split_windows(clips: list[np.ndarray], window_s: int = WINDOW_SECONDS) -> list[Window]:
    """Every clip cut into consecutive windows of at most ``window_s`` seconds, in clip order.

    A cut in the middle of a word costs Whisper that word on both sides, so each cut is
    moved back to the quietest 100 ms of the window's last ``SEARCH_SECONDS``.
    """
    size = window_s * SAMPLE_RATE
    windows: list[Window] = []
    for index, clip in enumerate(clips):
        start = 0
        while True:
            end = start + size if clip.shape[0] - start > size else clip.shape[0]
            if end < clip.shape[0]:
                end = _quietest_cut(clip, end)
            windows.append(Window(index, start / SAMPLE_RATE, clip[start:end]))
            if end >= clip.shape[0]:
                break
            start = end
    return windows


def _quietest_cut(clip: np.ndarray, end: int) -> int:
    """The sample index of the quietest frame in the ``SEARCH_SECONDS`` before ``end``."""
    frame = SAMPLE_RATE // 10
    lo = end - SEARCH_SECONDS * SAMPLE_RATE
    frames = clip[lo:end][: (end - lo) // frame * frame].reshape(-1, frame)
    energy = np.square(frames, dtype=np.float64).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def context_frames(duration_s: float) -> int:
    """Encoder input frames for a window of ``duration_s`` under the short context: whole seconds plus margin.

    The margin keeps a stretch of the zero padding Whisper was trained to read as the end of
    speech; without it the last word is the one most often lost. Whole seconds let windows of
    similar length share one batch shape. Never more than a full window.
    """
    return min(WINDOW_FRAMES, math.ceil(duration_s + CONTEXT_MARGIN_S) * FRAMES_PER_SECOND)
