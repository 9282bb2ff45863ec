"""Headless Chromium for the page tests: Debian's browser (``make setup``), never a download."""

from __future__ import annotations

import shutil
from typing import Any

BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def launch_chromium(playwright: Any, *extra_args: str) -> Any:
    """A headless Debian Chromium driven by ``playwright`` (``sync_playwright()``'s handle)."""
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[*BASE_ARGS, *extra_args]
    )
