"""Strings that JSON can carry but no codec can encode, refused before they reach a runner.

A JSON ``"\\ud800"`` escape decodes to a lone UTF-16 surrogate: Python accepts it as a
``str``, but the call to a runner serializes it as UTF-8 and fails there, which the client
would see as a 5xx. Checking up front turns it into a 422 naming the problem.
"""

from __future__ import annotations


def has_lone_surrogate(text: str) -> bool:
    """``text`` holds a code point in U+D800-U+DFFF (always lone in a Python ``str``)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
