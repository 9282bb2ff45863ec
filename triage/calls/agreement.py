"""LocalAgreement-2: text of an open utterance is stable once two consecutive decodes agree on it.

Each re-decode of the growing utterance may rewrite its last words (Whisper sees more of the
sentence and changes its mind), but a prefix that two decodes in a row produced rarely changes
again (Macháček et al., whisper_streaming). Showing that prefix as stable and only the rest as
tentative keeps partials responsive without the flicker of showing every raw decode.
"""

from __future__ import annotations


def common_prefix(a: list[str], b: list[str]) -> list[str]:
    """The longest run of words both lists start with."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


class LocalAgreement:
    """Stable and tentative words of one open utterance across its re-decodes."""

    def __init__(self) -> None:
        self.previous: list[str] = []
        self.stable: list[str] = []

    def update(self, text: str) -> tuple[list[str], list[str]]:
        """Take a new decode; return (stable words, tentative words after them).

        The stable prefix only grows: a later decode that disagrees with it leaves it as it was
        (the utterance's final decode, made when a silence ends it, is what gets committed).
        """
        words = text.split()
        agreed = common_prefix(self.previous, words)
        if len(agreed) > len(self.stable) and agreed[: len(self.stable)] == self.stable:
            self.stable = agreed
        self.previous = words
        return self.stable, words[len(self.stable) :]
