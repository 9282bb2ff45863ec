"""Clean-up after correction: spacing, punctuation, duplicate sentences, repetition loops.

Each step only fires on a clear defect, because a correct transcript must come out as it
went in: spacing is redone only inside implausibly long eojeols (ASR glued words
together), punctuation is only normalised (no space before it; '!!' and '...' are the caller's), a
sentence is dropped only when it repeats the previous one verbatim, and an n-gram loop
(Whisper's hallucinated repetitions) is cut only past ``max_ngram_repeats`` consecutive
copies, since a caller shouting "살려 주세요 살려 주세요" means it.
"""

from __future__ import annotations

import re

from triage.corrector.config import CorrectorConfig

_SENT = re.compile(r"[^.?!]+[.?!]*")


def fix_spacing(text: str, kiwi, min_chars: int) -> str:
    """Re-space eojeols at least ``min_chars`` long with kiwipiepy; leave the others untouched."""
    words = text.split(" ")
    out = []
    for w in words:
        if len(w) >= min_chars:
            w = kiwi.space(w, reset_whitespace=False)
        out.append(w)
    return " ".join(out)


def normalise_punctuation(text: str, terminal: bool) -> str:
    text = re.sub(r"\s+([.,?!])", r"\1", text)
    text = " ".join(text.split())
    if terminal and text and text[-1] not in ".?!":
        text += "."
    return text


def drop_duplicate_sentences(text: str) -> str:
    """Remove a sentence that repeats the one before it (ignoring spaces and punctuation)."""
    sentences = [s.strip() for s in _SENT.findall(text) if s.strip()]
    out: list[str] = []
    prev_key = None
    for s in sentences:
        key = re.sub(r"[\s.?!,]", "", s)
        if key and key == prev_key:
            continue
        out.append(s)
        prev_key = key
    return " ".join(out) if out else text


def cut_repeated_ngrams(text: str, max_n: int, max_repeats: int) -> str:
    """Keep at most ``max_repeats`` consecutive copies of any word n-gram (n <= max_n)."""
    words = text.split()
    changed = True
    while changed:
        changed = False
        for n in range(1, max_n + 1):
            i = 0
            while i + n <= len(words):
                gram = words[i : i + n]
                j = i + n
                count = 1
                while words[j : j + n] == gram:
                    count += 1
                    j += n
                if count > max_repeats:
                    words = words[: i + n * max_repeats] + words[j:]
                    changed = True
                i += 1
    return " ".join(words)


def postprocess(text: str, kiwi, cfg: CorrectorConfig) -> str:
    if cfg.fix_spacing:
        text = fix_spacing(text, kiwi, cfg.spacing_min_eojeol_chars)
    text = normalise_punctuation(text, cfg.terminal_punctuation)
    text = drop_duplicate_sentences(text)
    text = cut_repeated_ngrams(text, cfg.max_ngram, cfg.max_ngram_repeats)
    return text
