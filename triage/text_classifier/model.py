"""``TextClassifierModel``: load the stored classifier and classify batches of Korean text.

Training evaluates through this class and the runner serves through it, so the figures
in the model's metadata are those of the code path that answers requests. The store
folder holds one folder of BERT weights + config per ensemble member (``member-0/``, ...;
``model/`` in a single-model store), ``tokenizer/`` (shared by the members) and
``classifier.json`` (labels, members, temperature, token window, emergency thresholds) and,
in models trained with them, ``category_head.json`` and ``emergency_head.json``: heads over a
frozen sentence encoder (stored separately as ``text_encoder``), which share with the members
the choice of category and the emergency probability (:mod:`triage.text_classifier.category_head`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, BertForSequenceClassification

from triage.config import Settings, get_settings
from triage.device import pick_device
from triage.text_classifier import MODEL_NAME, NORMAL_LABEL
from triage.text_classifier.category_head import CategoryHead, EmergencyHead
from triage.text_classifier.encoder import SentenceEncoder
from triage.text_classifier.schemas import TextPrediction
from triage.text_validation import validate_texts

CLASSIFIER_JSON = "classifier.json"


class TextClassifierModel:
    """A stored text classifier, ready to classify batches."""

    def __init__(
        self,
        path: Path | str,
        device: str | None = None,
        settings: Settings | None = None,
        encoder: SentenceEncoder | Path | None = None,
    ) -> None:
        """``encoder``: the heads' sentence encoder, loaded or its folder; by default the
        store's version the heads were fitted on. Unused by a model without heads, or with
        ``TRIAGE_TEXT_CATEGORY_HEAD=0`` (the members alone, at their own threshold)."""
        path = Path(path)
        self.settings = settings or get_settings()
        self.device = device or pick_device()
        info = json.loads((path / CLASSIFIER_JSON).read_text(encoding="utf-8"))
        self.labels: list[str] = list(info["labels"])
        self.temperature = float(info["temperature"])
        self.max_length = int(info["max_length"])
        self.normal_index = self.labels.index(info.get("normal_label", NORMAL_LABEL))
        # Fine labels (crime subtypes) roll up into categories; a model without the map has
        # one label per category.
        self.category_of: dict[str, str] = {label: label for label in self.labels} | info.get(
            "categories", {}
        )
        self.categories: list[str] = list(dict.fromkeys(self.category_of[label] for label in self.labels))
        self.tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
        self.members = [
            BertForSequenceClassification.from_pretrained(path / name).to(self.device).eval()
            for name in info.get("members", ["model"])
        ]
        heads_on = self.settings.text_category_head
        self.head = CategoryHead.load(path) if heads_on else None
        self.emergency_head = EmergencyHead.load(path) if heads_on else None
        # The threshold belongs to the probability it cuts: the mix when the emergency head
        # serves, the members' own (also chosen on dev) when it does not.
        served_threshold = float(info.get("emergency_threshold", 0.5))
        self.threshold = (
            served_threshold
            if self.emergency_head is not None
            else float(info.get("members_threshold", served_threshold))
        )
        self.encoder: SentenceEncoder | None = None
        tags = {h.encoder for h in (self.head, self.emergency_head) if h is not None}
        if len(tags) > 1:
            raise ValueError(f"the heads were fitted on different encoders: {sorted(tags)}")
        if self.head is not None:
            emergency_categories = [c for c in self.categories if c != self.normal_category]
            if sorted(self.head.categories) != sorted(emergency_categories):
                raise ValueError(f"category head {self.head.categories} != model {emergency_categories}")
        if tags:
            if isinstance(encoder, SentenceEncoder):
                self.encoder = encoder
            elif encoder is not None:
                self.encoder = SentenceEncoder(encoder, device=self.device)
            else:
                self.encoder = SentenceEncoder.from_store(tags.pop(), device=self.device)

    @property
    def normal_category(self) -> str:
        return self.category_of[self.labels[self.normal_index]]

    @classmethod
    def from_store(cls, name: str = MODEL_NAME, **kwargs) -> TextClassifierModel:
        """Load the latest ``name`` from the BentoML model store."""
        from triage.model_store import get_model

        return cls(get_model(name).path, **kwargs)

    @torch.no_grad()
    def logits(self, texts: list[str]) -> tuple[torch.Tensor, list[bool]]:
        """Logits [n, labels], averaged over the members, and, per text, whether it was cut
        to the token window.

        Averaging logits multiplies the members' probabilities: a sentence unlike the
        training data, which one member happens to call an emergency with p 0.99, stays
        normal unless the others agree, and the emergency threshold can sit lower.
        """
        if not texts:
            return torch.zeros(0, len(self.labels)), []
        cleaned = [" ".join(t.split()) for t in texts]
        # Counted uncut to tell which texts the window cuts; verbose=False: cutting is expected
        # here, and reported per text, not as transformers' warning.
        full_lengths = [
            len(ids) for ids in self.tokenizer(cleaned, add_special_tokens=True, verbose=False)["input_ids"]
        ]
        batch = self.tokenizer(
            cleaned, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        logits = torch.stack(
            [
                member(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
                for member in self.members
            ]
        ).mean(dim=0)
        return logits.cpu(), [n > self.max_length for n in full_lengths]

    def classify(self, texts: list[str]) -> list[TextPrediction]:
        """Validate and classify a batch; one :class:`TextPrediction` per text, in order."""
        validate_texts(texts, self.settings)
        logits, truncated = self.logits(texts)
        probs = torch.softmax(logits / self.temperature, dim=-1).tolist()
        emergency, vectors = self.emergency_probabilities(texts, probs)
        heads: list[np.ndarray | None] = [None] * len(texts)
        # The category head only for the texts called emergencies: the category of anything
        # else is no decision, and its probabilities, which fusion reads, stay the members'.
        flagged = [i for i, p in enumerate(emergency) if p >= self.threshold]
        if self.head is not None and self.encoder is not None and flagged:
            picked = self.encoder.embed([texts[i] for i in flagged]) if vectors is None else vectors[flagged]
            for i, head in zip(flagged, self.head.probabilities(picked), strict=True):
                heads[i] = head
        return [
            self._prediction(row, float(e), cut, head)
            for row, e, cut, head in zip(probs, emergency, truncated, heads, strict=True)
        ]

    def emergency_probabilities(
        self, texts: list[str], rows: list[list[float]]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """P(emergency) of each text: the members' (from their label probabilities ``rows``)
        mixed with the emergency head's, and the sentence vectors computed for it (None
        without an emergency head)."""
        members = np.array([self._emergency(row) for row in rows], dtype=np.float64)
        if self.emergency_head is None or self.encoder is None or not texts:
            return members, None
        vectors = self.encoder.embed(texts)
        weight = self.emergency_head.weight
        return weight * members + (1 - weight) * self.emergency_head.probabilities(vectors), vectors

    def _prediction(
        self, row: list[float], emergency: float, truncated: bool, head: np.ndarray | None
    ) -> TextPrediction:
        """Category probabilities (P(normal) = 1 - ``emergency``; the emergency mass shared as
        the members' fine labels share theirs, then mixed with the category head's), the best
        category and, where it has several fine labels, its most probable subtype with
        P(subtype | category) among the members' fine labels."""
        members = dict.fromkeys(self.categories, 0.0)
        for label, p in zip(self.labels, row, strict=True):
            members[self.category_of[label]] += p
        by_category = self._by_category(members, emergency, head)
        category = max(by_category, key=by_category.__getitem__)
        fine = {
            label: p for label, p in zip(self.labels, row, strict=True) if self.category_of[label] == category
        }
        subtype = subtype_probability = None
        if len(fine) > 1:
            subtype = max(fine, key=fine.__getitem__)
            subtype_probability = round(fine[subtype] / max(members[category], 1e-12), 6)
        return TextPrediction(
            label=category,
            probabilities={c: round(p, 6) for c, p in by_category.items()},
            subtype=subtype,
            subtype_probability=subtype_probability,
            emergency_probability=round(emergency, 6),
            is_emergency=emergency >= self.threshold,
            truncated=truncated,
        )

    def _emergency(self, row: list[float]) -> float:
        """P(emergency) = 1 - P(normal) of one row of label probabilities."""
        return min(1.0, max(0.0, 1.0 - row[self.normal_index]))

    def _by_category(
        self, members: dict[str, float], emergency: float, head: np.ndarray | None
    ) -> dict[str, float]:
        """``emergency`` shared among the emergency categories by the members' distribution
        over them or, with the category ``head``'s probabilities, by ``weight`` x the
        members' + (1 - ``weight``) x the head's; the rest is P(normal)."""
        kinds = [c for c in self.categories if c != self.normal_category]
        mass = sum(members[c] for c in kinds)
        share = {c: members[c] / mass if mass > 0 else 1.0 / len(kinds) for c in kinds}
        if head is not None:
            assert self.head is not None
            for category, p_head in zip(self.head.categories, head.tolist(), strict=True):
                share[category] = self.head.weight * share[category] + (1 - self.head.weight) * p_head
        return {self.normal_category: 1.0 - emergency} | {c: emergency * share[c] for c in kinds}
