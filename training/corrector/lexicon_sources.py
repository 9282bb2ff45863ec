"""Where the corrector's lexicon comes from at training time: our corpus and hunspell-ko.

The words are stored with the model (``lexicon.tsv``); serving only searches them
(``triage.corrector.lexicon``).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from triage.jamo import is_hangul_word

HUNSPELL_DIC = Path("/usr/share/hunspell/ko.dic")
_PUNCT = re.compile(r"[^\w]+")


def read_hunspell(path: Path = HUNSPELL_DIC, min_len: int = 2, max_len: int = 8) -> list[str]:
    """Hangul words of Debian's hunspell-ko (stored NFD with affix flags; returned NFC, flags cut)."""
    if not path.exists():
        return []
    words: dict[str, None] = {}
    with path.open(encoding="utf-8", errors="ignore") as f:
        next(f, None)  # first line is the entry count
        for line in f:
            w = unicodedata.normalize("NFC", line.split("/", 1)[0].strip())
            if min_len <= len(w) <= max_len and is_hangul_word(w):
                words[w] = None
    return list(words)


def corpus_words(sentences: list[str], kiwi=None, min_len: int = 2) -> list[str]:
    """Eojeols and kiwipiepy nouns of the corpus: the project's own vocabulary, with particles."""
    out: dict[str, None] = {}
    for s in sentences:
        for tok in _PUNCT.sub(" ", s).split():
            if len(tok) >= min_len and is_hangul_word(tok):
                out[tok] = None
    if kiwi is not None:
        for res in kiwi.analyze(sentences):
            for t in res[0][0]:
                if t.tag in ("NNG", "NNP") and len(t.form) >= min_len and is_hangul_word(t.form):
                    out[t.form] = None
    return list(out)
