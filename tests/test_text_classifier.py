"""Text classifier: data hygiene, loaders, augmentation, dev accuracy, serving over HTTP, bad input.

The model is the ``--profile test`` build (Whisper-initialised token embeddings, a 2-layer
BERT, 4 fine-tuning epochs on a subsample of the generated data plus corpus speech).
``test.tsv`` is its dev set (threshold and calibration are chosen on it and on corpus dev
speakers), so the bounds here only say the model learnt something; the honest figures come
from ``benchmarks/eval_real.py``. Each bound beats the trivial baselines on the same data:
on ``test.tsv`` always-normal scores 0.242 category accuracy, always-emergency 0.202 and
the keyword rule (``harness.baselines``) 0.581; on balanced accuracy (mean of emergency
recall and normal specificity) the constants score 0.5 and the keyword rule 0.660.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import stored_model
from training.asr_noise import asr_noise, drop_spaces, liaison
from training.corpus_transcripts import load_transcripts
from training.text_classifier.augment import augment
from training.text_classifier.data import (
    DEV_FAR_TSV,
    SPEECH_MANIFEST,
    TEST_TSV,
    TRAIN_TSV,
    WRITTEN_TSV,
    load_examples,
    load_manifest_transcripts,
)
from training.text_classifier.labels import CATEGORY_OF, DEFAULT_LABELS, normalise_label
from triage.errors import TriageError
from triage.text_classifier import MODEL_NAME

MIN_DEV_ACCURACY = 0.62
"""Category accuracy on test.tsv; the best trivial baseline (keyword rule) scores 0.581."""
MIN_DEV_BALANCED_ACCURACY = 0.68
"""Mean of emergency recall and normal specificity at the stored threshold; keyword rule 0.660."""
MAX_NEAR_DUPLICATE_DISTANCE = 0.25
"""No evaluation sentence may lie this close (normalised edit distance) to a training sentence."""

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
    return stored_model(MODEL_NAME)


@pytest.fixture(scope="module")
def classifier(text_model):
    """The model exactly as the runner loads it."""
    from triage.text_classifier.model import TextClassifierModel

    return TextClassifierModel(text_model.path, device="cpu")


def test_evaluation_text_never_in_training_data() -> None:
    """Both dev sets, the speech manifest, the held-out sentences and corpus test sentences stay
    out of training (the generated sentences and the hand-written ones alike)."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    from benchmarks.eval_real import HELDOUT_SENTENCES
    from harness.corpus import corpus_clips
    from triage.metrics import normalise_for_cer

    train = {ex.text for ex in load_examples(TRAIN_TSV) + load_examples(WRITTEN_TSV)}
    dev = load_examples(TEST_TSV)
    assert len(dev) >= 100 and not {ex.text for ex in dev} & train
    assert not {text for text, _ in load_manifest_transcripts(SPEECH_MANIFEST)} & train
    assert {ex.label for ex in load_examples(TRAIN_TSV)} == set(DEFAULT_LABELS)
    assert {ex.label for ex in dev} == {"normal", "medical", "fire", "crime", "accident"}
    far_dev = load_examples(DEV_FAR_TSV)
    assert len(far_dev) >= 40 and not {ex.text for ex in far_dev} & (train | {ex.text for ex in dev})
    assert {CATEGORY_OF.get(ex.label, ex.label) for ex in far_dev} >= {"normal", "help", "crime", "accident"}
    # corpus speech the text model learns from: no sentence a dev or test speaker reads
    learnt = {r.reference for r in load_transcripts("train")}
    assert learnt and not learnt & {c.transcript for c in corpus_clips("test") + corpus_clips("dev")}
    # the held-out evaluation sentences: neither copied nor paraphrased closely
    with HELDOUT_SENTENCES.open(encoding="utf-8") as f:
        heldout = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
    corpus = [normalise_for_cer(t) for t in train | learnt]
    closest = [
        process.extractOne(normalise_for_cer(t), corpus, scorer=Levenshtein.normalized_distance)[1]
        for t in heldout
    ]
    assert len(heldout) >= 150 and min(closest) >= MAX_NEAR_DUPLICATE_DISTANCE


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
    assert [e.label for e in load_examples(csv_file)] == ["fire", "theft", "normal"]
    assert [e.label for e in load_examples(jsonl_file)] == ["accident", "help", "violence"]
    assert normalise_label("강제추행(성범죄)") == "sexual" and normalise_label("가스사고") == "fire"
    assert normalise_label("태풍-강풍") == "accident" and normalise_label("Medical") == "medical"
    # the first seed's six classes map onto ours; crime subtypes roll up into "crime"
    seed_classes = ["regular", "help", "robbery", "sexual", "theft", "violence"]
    assert [normalise_label(c) for c in seed_classes] == ["normal", *seed_classes[1:]]
    assert {CATEGORY_OF.get(normalise_label(c), c) for c in seed_classes[2:]} == {"crime"}


def test_asr_noise_and_augmentation_are_seeded() -> None:
    assert liaison("불이 나요", random.Random(0)) == "부리 나요"
    assert drop_spaces("불이 났어요", random.Random(0), p=1.0) == "불이났어요"
    text = "여보세요 할머니가 갑자기 쓰러졌어요 빨리 와주세요"
    noisy = [asr_noise(text, random.Random(seed)) for seed in range(20)]
    assert noisy == [asr_noise(text, random.Random(seed)) for seed in range(20)]
    assert len(set(noisy)) > 10 and all(noisy)
    first = augment(text, random.Random(3), 4)
    assert first == augment(text, random.Random(3), 4)
    assert len(first) == 4 and text not in first


def test_metrics_stored_with_model(text_model) -> None:
    meta = text_model.info.metadata
    metrics = meta["metrics"]
    print({k: v for k, v in metrics.items() if not k.endswith("_confusion")})
    assert meta["labels"] == list(DEFAULT_LABELS)
    assert meta["categories"] == {
        label: "crime" for label in ("robbery", "theft", "sexual", "violence", "threat")
    }
    assert 0.05 <= meta["temperature"] <= 20 and 0.5 <= meta["emergency_threshold"] <= 0.99
    assert metrics["dev_n"] >= 100 and metrics["dev_speech_n"] >= 100
    assert metrics["dev_accuracy"] > MIN_DEV_ACCURACY


def test_dev_accuracy_reproduced_in_process(classifier, text_model) -> None:
    dev = load_examples(TEST_TSV)
    predictions = classifier.classify([ex.text for ex in dev])
    accuracy = sum(p.label == ex.label for p, ex in zip(predictions, dev, strict=True)) / len(dev)
    assert accuracy == pytest.approx(text_model.info.metadata["metrics"]["dev_accuracy"], abs=1e-3)
    emergency = [p.is_emergency for p, ex in zip(predictions, dev, strict=True) if ex.label != "normal"]
    normal = [not p.is_emergency for p, ex in zip(predictions, dev, strict=True) if ex.label == "normal"]
    balanced = (sum(emergency) / len(emergency) + sum(normal) / len(normal)) / 2
    print(f"dev category accuracy {accuracy:.3f}, balanced emergency accuracy {balanced:.3f}")
    assert balanced > MIN_DEV_BALANCED_ACCURACY


def test_served_logits_average_distinct_members(classifier) -> None:
    """The profile's ensemble answers requests: members trained apart (different weights),
    served logits the mean of theirs."""
    import torch

    from training.text_classifier.train import PROFILES

    assert len(classifier.members) == PROFILES["test"].members >= 2
    heads = [member.classifier.weight for member in classifier.members]
    assert not torch.allclose(heads[0], heads[1])
    logits, _ = classifier.logits(PROBE_TEXTS)
    batch = classifier.tokenizer(
        PROBE_TEXTS, padding=True, truncation=True, max_length=classifier.max_length, return_tensors="pt"
    )
    with torch.no_grad():
        each = torch.stack([member(**batch).logits for member in classifier.members])
    assert torch.allclose(logits, each.mean(dim=0), atol=1e-5)
    assert not torch.allclose(each[0], each[1], atol=1e-2)


def test_crime_subtypes_roll_up(classifier) -> None:
    """Crime comes as one category with a subtype; other categories have none."""
    for p in classifier.classify(PROBE_TEXTS):
        assert "crime" in p.probabilities and "robbery" not in p.probabilities
        if p.label == "crime":
            assert p.subtype in {"robbery", "theft", "sexual", "violence", "threat"}
            assert 0.0 < p.subtype_probability <= 1.0
        else:
            assert p.subtype is None and p.subtype_probability is None


def test_predictions_are_calibrated_distributions(classifier) -> None:
    for p in classifier.classify(PROBE_TEXTS):
        assert set(p.probabilities) == set(classifier.categories)
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


def test_heads_share_the_decision_with_the_members(classifier) -> None:
    """The heads over frozen Gemma 3 270M sentence vectors are served. The emergency head's
    P(emergency) is averaged with the members' (``weight``); the category head moves the
    emergency categories of texts called emergencies, and of no other text, where the
    emergency mass is shared as the members share theirs. Alone, the category head names the
    category of the far dev set's emergencies more often than always answering their commonest
    category does, and the emergency head tells them from the dev speakers' everyday speech
    better than chance (AUC 0.5)."""
    from collections import Counter

    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from training.text_classifier.category_head import head_accuracy
    from training.text_classifier.train import corpus_normal_examples

    assert classifier.head is not None and classifier.emergency_head is not None
    assert classifier.encoder is not None
    far = load_examples(DEV_FAR_TSV)
    texts = [ex.text for ex in far]
    served = classifier.classify(texts)
    logits, _ = classifier.logits(texts)
    members = torch.softmax(logits / classifier.temperature, dim=-1)
    members_emergency = 1.0 - members[:, classifier.normal_index].numpy()
    head_emergency = classifier.emergency_head.probabilities(classifier.encoder.embed(texts))
    weight = classifier.emergency_head.weight
    moved = 0.0
    for p, row, m, h in zip(served, members.tolist(), members_emergency, head_emergency, strict=True):
        assert p.emergency_probability == pytest.approx(weight * m + (1 - weight) * h, abs=1e-5)
        mass = 1.0 - row[classifier.normal_index]
        shared = p.emergency_probability * row[classifier.labels.index("medical")] / mass
        shift = abs(p.probabilities["medical"] - shared)
        if p.is_emergency:
            moved = max(moved, shift)
        else:
            assert shift < 1e-5
    assert moved > 0.01, "the category head changed no category probability"
    assert not np.allclose(members_emergency, head_emergency, atol=1e-2)
    truth = [CATEGORY_OF.get(ex.label, ex.label) for ex in far if ex.label != "normal"]
    majority = max(Counter(truth).values()) / len(truth)
    alone = head_accuracy(classifier.head, classifier.encoder, far)
    everyday = [ex.text for ex in corpus_normal_examples("dev", 100, random.Random(0))]
    emergencies = [ex.text for ex in far if ex.label != "normal"]
    scores = classifier.emergency_head.probabilities(classifier.encoder.embed(everyday + emergencies))
    auc = roc_auc_score([0] * len(everyday) + [1] * len(emergencies), scores)
    print(
        f"far dev emergencies: category head alone {alone}, commonest category {majority:.3f}; "
        f"emergency head alone AUC {auc:.3f} against dev everyday speech"
    )
    assert alone > majority
    assert auc > 0.5


def test_sentence_encoder_computes_what_transformers_computes(classifier) -> None:
    """The served encoder holds less (bfloat16 weights widened at use, the embedding table
    mapped from disk, the tokenizer without transformers' wrapper) but its sentence vectors are
    those of the plain float32 load through transformers, up to float rounding: a lost
    embedding scale, a wrong special token or padding read as text would move them by ~1."""
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    from triage.model_store import get_model

    path = get_model(classifier.head.encoder).path
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    batch = tokenizer(PROBE_TEXTS, padding=True, return_special_tokens_mask=True, return_tensors="pt")
    keep = (batch["attention_mask"] * (1 - batch.pop("special_tokens_mask"))).unsqueeze(-1).float()
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    reference = ((hidden * keep).sum(1) / keep.sum(1)).numpy()
    served = classifier.encoder.embed(PROBE_TEXTS)
    assert served.shape == reference.shape
    assert np.abs(served - reference).max() < 1e-3


def test_category_head_can_be_switched_off(text_model, classifier, monkeypatch) -> None:
    """``TRIAGE_TEXT_CATEGORY_HEAD=0`` serves the members alone: no encoder in memory, every
    category probability the members' sum of their fine labels, and the members' own
    threshold (chosen on dev like the served one)."""
    import torch

    from triage.config import Settings
    from triage.text_classifier.model import TextClassifierModel

    monkeypatch.setenv("TRIAGE_TEXT_CATEGORY_HEAD", "0")
    members_only = TextClassifierModel(text_model.path, device="cpu", settings=Settings())
    assert members_only.head is None and members_only.emergency_head is None
    assert members_only.encoder is None
    assert members_only.threshold == text_model.info.metadata["members_threshold"]
    logits, _ = classifier.logits(PROBE_TEXTS)
    rows = torch.softmax(logits / classifier.temperature, dim=-1).tolist()
    for p, row in zip(members_only.classify(PROBE_TEXTS), rows, strict=True):
        for category, value in p.probabilities.items():
            fine = [
                q
                for label, q in zip(classifier.labels, row, strict=True)
                if classifier.category_of[label] == category
            ]
            assert value == pytest.approx(sum(fine), abs=1e-5)


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
    response = text_server.client.post("/classify/text", json={"sentences": PROBE_TEXTS}, timeout=120)
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
    calm = text_server.client.post(
        "/classify/text", json={"sentences": ["내일 점심 같이 먹을래?"]}, timeout=60
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
    response = text_server.client.post("/classify/text", json=payload, timeout=60)
    assert response.status_code == status, response.text
    assert needle in response.text


def test_malformed_json_gets_4xx(text_server) -> None:
    response = text_server.client.post(
        "/classify/text",
        content=b'{"sentences": [',
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500
