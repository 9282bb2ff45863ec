"""KorEDA-style augmentation (synonym replacement, random insertion, swap, deletion) plus ASR noise.

The original danger classifier (seeds/002) multiplied its danger data this way; here every
class is augmented the same number of times so augmentation does not shift class priors,
and a share of the copies carries ASR-like noise (:mod:`training.asr_noise`) because
the classifier reads Whisper output, not typed text.
"""

from __future__ import annotations

import random

from training.asr_noise import asr_noise

SYNONYMS: dict[str, list[str]] = {
    "빨리": ["얼른", "어서", "빨리빨리", "급해요"],
    "얼른": ["빨리", "어서"],
    "도와주세요": ["살려주세요", "도와줘요", "도와주십시오"],
    "살려주세요": ["도와주세요", "살려줘요", "제발 살려주세요"],
    "와주세요": ["와 주세요", "와줘요", "와주십시오", "출동해 주세요"],
    "지금": ["당장", "방금", "지금요"],
    "사람이": ["누가", "어떤 사람이"],
    "엄마가": ["어머니가", "우리 엄마가"],
    "아빠가": ["아버지가", "우리 아빠가"],
    "할머니가": ["할매가", "우리 할머니가"],
    "할아버지가": ["할배가", "우리 할아버지가"],
    "아이가": ["애가", "우리 애가", "아기가"],
    "남편이": ["신랑이", "애 아빠가"],
    "불이": ["불이", "화재가"],
    "연기가": ["시커먼 연기가", "연기가 막"],
    "경찰": ["경찰관", "112"],
    "구급차": ["앰뷸런스", "119", "구급대"],
    "소방차": ["소방관", "119"],
    "집에": ["우리 집에", "집 안에"],
    "진짜": ["정말", "너무", "완전"],
    "너무": ["진짜", "엄청", "정말"],
    "어떡해요": ["어떡해", "어떻게 해요", "어쩌면 좋아요"],
    "다쳤어요": ["다쳤어", "부상당했어요"],
    "쓰러졌어요": ["쓰러졌어", "넘어갔어요", "의식이 없어요"],
    "오늘": ["오늘은", "이번에"],
    "어제": ["엊그제", "지난번에"],
    "병원": ["병원에", "의원"],
    "뉴스": ["뉴스에서", "기사"],
}
FILLERS = ["좀", "지금", "막", "진짜", "아", "저기", "그", "네", "어", "제발"]


def _words(text: str) -> list[str]:
    return text.split()


def synonym_replacement(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Replace up to ``n`` words that have a synonym in :data:`SYNONYMS`."""
    out = list(words)
    candidates = [i for i, w in enumerate(out) if w.strip(".,!?~") in SYNONYMS]
    rng.shuffle(candidates)
    for i in candidates[:n]:
        core = out[i].strip(".,!?~")
        out[i] = out[i].replace(core, rng.choice(SYNONYMS[core]))
    return out


def random_insertion(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Insert ``n`` fillers or synonyms at random positions (spoken Korean is full of them)."""
    out = list(words)
    for _ in range(n):
        synonyms = [SYNONYMS[w] for w in out if w in SYNONYMS]
        pool = rng.choice(synonyms) if synonyms and rng.random() < 0.5 else FILLERS
        out.insert(rng.randint(0, len(out)), rng.choice(pool))
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Swap two words ``n`` times (Korean word order is free-ish in speech)."""
    out = list(words)
    for _ in range(n):
        if len(out) < 2:
            break
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: random.Random) -> list[str]:
    """Drop each word with probability ``p``, keeping at least one (fragments of speech)."""
    if len(words) <= 1:
        return list(words)
    kept = [w for w in words if rng.random() > p]
    return kept or [rng.choice(words)]


def eda(text: str, rng: random.Random, alpha: float = 0.1) -> str:
    """One KorEDA variant of ``text`` (one operation chosen at random)."""
    words = _words(text)
    n = max(1, int(alpha * len(words)))
    op = rng.randrange(4)
    if op == 0:
        words = synonym_replacement(words, n, rng)
    elif op == 1:
        words = random_insertion(words, n, rng)
    elif op == 2:
        words = random_swap(words, n, rng)
    else:
        words = random_deletion(words, alpha, rng)
    return " ".join(words)


def augment(text: str, rng: random.Random, copies: int, p_asr: float = 0.5) -> list[str]:
    """``copies`` distinct-when-possible variants of ``text``: EDA, then ASR noise with ``p_asr``."""
    variants: list[str] = []
    for _ in range(copies * 3):
        if len(variants) >= copies:
            break
        variant = eda(text, rng)
        if rng.random() < p_asr:
            variant = asr_noise(variant, rng)
        if variant != text and variant not in variants:
            variants.append(variant)
    return variants
