"""The project's CER, numbers and Latin letters read aloud as the corpus spells them, eval intervals.

The real-data check uses the committed corpus cache (Whisper's served decoding of the dev
speakers): measured there, reading aloud removes about a fifth of the counted errors
(0.1016 -> 0.0810) and makes no clip's CER higher.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.corpus_transcripts import load_transcripts
from triage.metrics import cer, read_aloud_like
from triage.spoken_forms import latin_readings, native_korean, number_readings, sino_korean

MIN_SPOKEN_CER_DROP = 0.10
"""Relative drop of the dev speakers' mean CER when numbers are read aloud (measured 0.20)."""


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "영"),
        (7, "칠"),
        (10, "십"),
        (29, "이십구"),
        (165, "백육십오"),
        (1004, "천사"),
        (10_000, "만"),
        (80_000, "팔만"),
        (81_000, "팔만천"),
        (2_050_300, "이백오만삼백"),
        (100_000_000, "일억"),
        (100_010_000, "일억만"),
    ],
)
def test_sino_korean(number: int, words: str) -> None:
    assert sino_korean(number) == words


def test_native_korean_and_its_counter_forms() -> None:
    assert [native_korean(n, before_counter=True) for n in (1, 2, 3, 4, 12, 20, 21)] == [
        "한",
        "두",
        "세",
        "네",
        "열두",
        "스무",
        "스물한",
    ]
    assert native_korean(3, before_counter=False) == "셋"
    assert native_korean(100, before_counter=True) is None


def test_readings_of_written_forms() -> None:
    assert number_readings("64.5") == ["육십사점오"]
    assert number_readings("80,000")[0] == "팔만"
    assert set(number_readings("3")) == {"삼", "세", "셋"}
    assert number_readings("365")[:2] == ["삼백육십오", "삼육오"]
    assert "공일공" in number_readings("010")
    assert latin_readings("LA") == ["엘에이"]
    assert latin_readings("cm")[0] == "센티미터" and "티비" in latin_readings("TV")
    assert latin_readings("Disneyland") == []


def test_the_reading_closest_to_the_reference_is_chosen() -> None:
    assert (
        read_aloud_like("오후 2시로 3명 예약해 주세요", "오후 두시로 세명")
        == "오후 두시로 세명 예약해 주세요"
    )
    assert read_aloud_like("29일 300cc", "이십구일 삼백씨씨") == "이십구일 삼백씨씨"
    assert read_aloud_like("Disney 매장", "디즈니 매장") == "Disney 매장"
    assert cer("제 키는 백육십오센티미터입니다", "제 키는 165cm입니다", spoken=True) == 0.0
    assert cer("제 키는 백육십오센티미터입니다", "제 키는 165cm입니다") > 0.5


def test_reading_aloud_on_real_whisper_output() -> None:
    rows = load_transcripts("dev")
    written = np.array([cer(r.reference, r.transcript.text) for r in rows])
    spoken = np.array([cer(r.reference, r.transcript.text, spoken=True) for r in rows])
    print(
        f"dev speakers, {len(rows)} clips: CER as written {written.mean():.4f}, "
        f"read aloud {spoken.mean():.4f}"
    )
    assert np.all(spoken <= written)
    assert spoken.mean() <= (1 - MIN_SPOKEN_CER_DROP) * written.mean()


def test_wilson_interval_of_the_evaluation() -> None:
    """``eval_real``'s 95 % intervals: 0 of 14 still allows a rate of 0.215 (z² / (n + z²))."""
    from benchmarks.eval_real import wilson_interval

    assert wilson_interval(0, 14) == [0.0, 0.2153]
    low, high = wilson_interval(5, 217)
    assert low < 5 / 217 < high and (low, high) == (0.0099, 0.0528)
    assert wilson_interval(14, 14)[1] == 1.0
