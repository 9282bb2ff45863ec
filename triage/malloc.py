"""Hand the heap that a model's loading freed back to the system.

Loading a model frees large temporary buffers (state dicts, tokenizer files) that glibc keeps
mapped for reuse, so a runner would otherwise hold its loading peak for its whole life.
``malloc_trim`` is a plain C library call, made through ``ctypes`` and skipped where the C
library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def release_freed_memory() -> None:
    """Hand the heap pages that are free back to the system (after loading a model)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
