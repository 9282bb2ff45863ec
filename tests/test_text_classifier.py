"""Text classifier: data hygiene, loaders, augmentation, held-out accuracy, serving over HTTP, bad input.

The model is the ``--profile test`` build (BPE tokenizer + 2-layer BERT, one MLM epoch, 4
fine-tuning epochs on 135 sentences per label; about 25 s of CPU). Measured with seed 13 on
the 124 hand-written held-out sentences: accuracy 0.66 (chance 0.2), macro-F1 0.65,
emergency-vs-normal 0.83; 0.71 emergency-vs-normal on the 14 speech manifest transcripts.
(The default build: 0.86 / 0.87 / 0.93 held-out, 1.0 on the manifest.) The bounds below
leave margin for thread-count nondeterminism, not for regressions.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from triage.errors import TriageError
from triage.text.asr_noise import compose, decompose, liaison
from triage.text.augment import augment
from triage.text.data import SPEECH_MANIFEST, TEST_TSV, TRAIN_TSV, load_examples, load_manifest_transcripts
from triage.text.labels import normalise_label

MIN_HELDOUT_ACCURACY = 0.5
MIN_HELDOUT_EMERGENCY_ACCURACY = 0.7

PROBE_TEXTS = [
    "할머니가 갑자기 쓰러지셨어요 숨을 안 쉬어요",
    "부엌에서 불이 나서 연기가 가득해요",
    "누가 칼 들고 돈 내놓으래요",
    "차가 뒤집혀서 사람이 안에 갇혔어요",
    "내일 점심 같이 먹을래?",
    "불이낫어요빨리와주세요",  # Whisper-style: a misheard syllable and no spaces
]


@pytest.fixture(scope="module")
def text_model(model_store: Path):
    """The test-profile text classifier in the test store (trained once, then reused)."""
    import bentoml

    subprocess.run(
        [sys.executable, "-m", "training.train_text_classifier", "--profile", "test"], cwd=REPO, check=True
    )
    return bentoml.models.get("text-classifier:latest")


@pytest.fixture(scope="module")
def classifier(text_model):
    """The model exactly as the runner loads it."""
    from triage.text.model import TextClassifierModel

    return TextClassifierModel(text_model.path, device="cpu")


def test_heldout_and_manifest_never_in_training_data() -> None:
    train = {ex.text for ex in load_examples(TRAIN_TSV)}
    heldout = load_examples(TEST_TSV)
    assert len(heldout) >= 100 and not {ex.text for ex in heldout} & train
    assert not {text for text, _ in load_manifest_transcripts(SPEECH_MANIFEST)} & train
    labels = {ex.label for ex in load_examples(TRAIN_TSV)}
    assert labels == {ex.label for ex in heldout} == {"normal", "medical", "fire", "crime", "accident"}


def test_user_csv_jsonl_and_aihub_labels(tmp_path: Path) -> None:
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(
        "text,label\n불이야,화재\n지갑을 도둑맞았어요,절도범죄\n안녕하세요,실내\n", encoding="utf-8"
    )
    jsonl_file = tmp_path / "mine.jsonl"
    jsonl_file.write_text(
        "\n".join(
            json.dumps({"text": t, "label": lab}, ensure_ascii=False)
            for t, lab in [
                ("엘리베이터에 갇혔어요", "갇힘"),
                ("살려주세요", "도움요청"),
                ("누가 때려요", "violence"),
            ]
        ),
        encoding="utf-8",
    )
    assert [e.label for e in load_examples(csv_file)] == ["fire", "crime", "normal"]
    assert [e.label for e in load_examples(jsonl_file)] == ["accident", "medical", "crime"]
    assert normalise_label("강제추행(성범죄)") == "crime" and normalise_label("가스사고") == "fire"
    assert normalise_label("태풍-강풍") == "accident" and normalise_label("Medical") == "medical"


def test_jamo_noise_and_augmentation_are_seeded() -> None:
    assert decompose("닭") == ("ㄷ", "ㅏ", "ㄺ") and compose("ㅂ", "ㅜ", "ㄹ") == "불"
    assert liaison("불이 났어요") == "부리 났어요"
    text = "여보세요 할머니가 갑자기 쓰러졌어요 빨리 와주세요"
    first = augment(text, random.Random(3), 4)
    assert first == augment(text, random.Random(3), 4)
    assert len(first) == 4 and text not in first


def test_metrics_stored_with_model(text_model) -> None:
    meta = text_model.info.metadata
    metrics = meta["metrics"]
    print({k: v for k, v in metrics.items() if k != "heldout_confusion"})
    assert meta["labels"] == ["normal", "medical", "fire", "crime", "accident"]
    assert 0.05 <= meta["temperature"] <= 20
    assert metrics["heldout_n"] >= 100
    assert metrics["heldout_accuracy"] > MIN_HELDOUT_ACCURACY
    assert metrics["heldout_emergency_accuracy"] > MIN_HELDOUT_EMERGENCY_ACCURACY
    assert metrics["manifest_n"] == len(load_manifest_transcripts(SPEECH_MANIFEST))
    assert 0.0 <= metrics["manifest_emergency_accuracy"] <= 1.0


def test_heldout_accuracy_reproduced_in_process(classifier, text_model) -> None:
    heldout = load_examples(TEST_TSV)
    predictions = classifier.classify([ex.text for ex in heldout])
    accuracy = sum(p.label == ex.label for p, ex in zip(predictions, heldout, strict=True)) / len(heldout)
    assert accuracy == pytest.approx(text_model.info.metadata["metrics"]["heldout_accuracy"], abs=1e-3)


def test_predictions_are_calibrated_distributions(classifier) -> None:
    for p in classifier.classify(PROBE_TEXTS):
        assert set(p.probabilities) == set(classifier.labels)
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert p.emergency_probability == pytest.approx(1.0 - p.probabilities["normal"], abs=1e-4)
        assert p.label == max(p.probabilities, key=p.probabilities.get)
        assert p.is_emergency == (p.emergency_probability >= classifier.threshold)
    # batching does not change answers
    one_by_one = [classifier.classify([t])[0] for t in PROBE_TEXTS]
    batched = classifier.classify(PROBE_TEXTS)
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.label == b.label
        assert a.emergency_probability == pytest.approx(b.emergency_probability, abs=1e-4)


def test_validation_in_process(classifier) -> None:
    with pytest.raises(TriageError) as empty:
        classifier.classify(["불이야", "   "])
    assert (empty.value.status, empty.value.code) == (422, "empty_text")
    limit = classifier.settings.max_text_chars
    with pytest.raises(TriageError) as long:
        classifier.classify(["가" * (limit + 1)])
    assert (long.value.status, long.value.code) == (413, "text_too_long")
    [long_ok] = classifier.classify(["불이 났어요 " * (limit // 8)])  # within the limit: cut by tokens
    assert long_ok.truncated and sum(long_ok.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert classifier.classify([]) == []


@pytest.fixture(scope="module")
def text_server(text_model, server):
    """The composed server (conftest) once the text model is in the test store."""
    return server


def test_endpoint_returns_model_answers(text_server, classifier) -> None:
    response = httpx.post(f"{text_server.url}/classify/text", json={"sentences": PROBE_TEXTS}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = classifier.classify(PROBE_TEXTS)
    assert [r["sentence"] for r in body["results"]] == PROBE_TEXTS
    for got, want in zip(body["results"], expected, strict=True):
        assert got["label"] == want.label
        assert got["emergency_probability"] == pytest.approx(want.emergency_probability, abs=1e-3)
        for label, p in want.probabilities.items():
            assert got["probabilities"][label] == pytest.approx(p, abs=1e-3)
    assert body["is_emergency"] is any(p.is_emergency for p in expected)
    assert isinstance(body["prediction_time_ms"], float | int)
    calm = httpx.post(
        f"{text_server.url}/classify/text", json={"sentences": ["내일 점심 같이 먹을래?"]}, timeout=60
    )
    assert calm.status_code == 200 and isinstance(calm.json()["is_emergency"], bool)


@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"sentences": []}, 422, "sentences"),
        ({"sentences": ["불이야", ""]}, 422, "empty_text"),
        ({"sentences": ["  \n\t "]}, 422, "empty_text"),
        ({"sentences": ["가" * 2001]}, 413, "text_too_long"),
        ({"sentences": "불이야"}, 422, "sentences"),
        ({"sentences": [1, 2]}, 422, "sentences"),
        ({"text": ["불이야"]}, 422, "sentences"),
        ({"sentences": ["불이야"] * 129}, 422, "sentences"),
    ],
)
def test_bad_text_input_gets_4xx(text_server, payload, status: int, needle: str) -> None:
    response = httpx.post(f"{text_server.url}/classify/text", json=payload, timeout=60)
    assert response.status_code == status, response.text
    assert needle in response.text


def test_malformed_json_gets_4xx(text_server) -> None:
    response = httpx.post(
        f"{text_server.url}/classify/text",
        content=b'{"sentences": [',
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500
