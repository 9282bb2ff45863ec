"""glibc allocator settings for the serving processes: fewer arenas, freed heap handed back.

glibc gives each thread that allocates concurrently an arena of its own (up to eight per
core), and memory freed in one arena is not reused by another; the runners and the API worker
serve from thread pools, so their heaps fragment across arenas and stay at their peak. Loading
a model also frees large temporary buffers (state dicts, tokenizer files) that glibc keeps
mapped. Both are plain C library calls, so they are made through ``ctypes`` and skipped where
the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(count: int) -> None:
    """At most ``count`` malloc arenas for this process (threads share them beyond that)."""
    libc = _glibc()
    if libc is not None and count > 0:
        libc.mallopt(M_ARENA_MAX, count)


def release_freed_memory() -> None:
    """Hand the heap pages that are free back to the system (after loading a model)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
