"""``TextClassifierModel``: load the stored classifier and classify batches of Korean text.

Training evaluates through this class and the runner serves through it, so the figures
in the model's metadata are those of the code path that answers requests. The store
folder holds one folder of BERT weights + config per ensemble member (``member-0/``, ...;
``model/`` in a single-model store), ``tokenizer/`` (shared by the members) and
``classifier.json`` (labels, members, temperature, token window, emergency threshold) and,
in models trained with one, ``category_head.json``: the category head over a frozen sentence
encoder (stored separately as ``text_encoder``), which shares the choice of category with the
members (:mod:`triage.text_classifier.category_head`).
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
from triage.text_classifier.category_head import CategoryHead
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
        """``encoder``: the category head's sentence encoder, loaded or its folder; by default
        the store's version the head was fitted on. Unused by a model without a head, or with
        ``TRIAGE_TEXT_CATEGORY_HEAD=0``."""
        path = Path(path)
        self.settings = settings or get_settings()
        self.device = device or pick_device()
        info = json.loads((path / CLASSIFIER_JSON).read_text(encoding="utf-8"))
        self.labels: list[str] = list(info["labels"])
        self.temperature = float(info["temperature"])
        self.max_length = int(info["max_length"])
        self.threshold = float(info.get("emergency_threshold", 0.5))
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
        self.head = CategoryHead.load(path) if self.settings.text_category_head else None
        self.encoder: SentenceEncoder | None = None
        if self.head is not None:
            emergency_categories = [c for c in self.categories if c != self.normal_category]
            if sorted(self.head.categories) != sorted(emergency_categories):
                raise ValueError(f"category head {self.head.categories} != model {emergency_categories}")
            if isinstance(encoder, SentenceEncoder):
                self.encoder = encoder
            elif encoder is not None:
                self.encoder = SentenceEncoder(encoder, device=self.device)
            else:
                self.encoder = SentenceEncoder.from_store(self.head.encoder, device=self.device)

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
        heads: list[np.ndarray | None] = [None] * len(texts)
        if self.head is not None and self.encoder is not None:
            # Only the texts the members call emergencies: the category of anything else is
            # no decision, and its probabilities, which fusion reads, stay the members'.
            flagged = [i for i, row in enumerate(probs) if self._emergency(row) >= self.threshold]
            if flagged:
                vectors = self.encoder.embed([texts[i] for i in flagged])
                for i, head in zip(flagged, self.head.probabilities(vectors), strict=True):
                    heads[i] = head
        return [
            self._prediction(row, cut, head) for row, cut, head in zip(probs, truncated, heads, strict=True)
        ]

    def _prediction(self, row: list[float], truncated: bool, head: np.ndarray | None) -> TextPrediction:
        """Category probabilities (fine labels summed, then mixed with the head's), the best
        category and, where it has several fine labels, its most probable subtype with
        P(subtype | category) among the members' fine labels."""
        members = dict.fromkeys(self.categories, 0.0)
        for label, p in zip(self.labels, row, strict=True):
            members[self.category_of[label]] += p
        by_category = self._mixed(members, head) if head is not None else members
        category = max(by_category, key=by_category.__getitem__)
        fine = {
            label: p for label, p in zip(self.labels, row, strict=True) if self.category_of[label] == category
        }
        subtype = subtype_probability = None
        if len(fine) > 1:
            subtype = max(fine, key=fine.__getitem__)
            subtype_probability = round(fine[subtype] / max(members[category], 1e-12), 6)
        emergency = self._emergency(row)
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

    def _mixed(self, members: dict[str, float], head: np.ndarray) -> dict[str, float]:
        """The members' emergency mass, shared among the emergency categories by
        ``weight`` x the members' distribution + (1 - ``weight``) x the head's: P(normal),
        and so the emergency decision, stay the members'."""
        assert self.head is not None
        mass = sum(p for c, p in members.items() if c != self.normal_category)
        mixed = dict(members)
        for category, p_head in zip(self.head.categories, head.tolist(), strict=True):
            p_members = members[category] / mass if mass > 0 else 0.0
            mixed[category] = mass * (self.head.weight * p_members + (1 - self.head.weight) * p_head)
        return mixed
