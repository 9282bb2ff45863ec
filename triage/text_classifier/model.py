"""``TextClassifierModel``: load the stored classifier and classify batches of Korean text.

Training evaluates through this class and the runner serves through it, so the figures
in the model's metadata are those of the code path that answers requests. The store
folder holds one folder of BERT weights + config per ensemble member (``member-0/``, ...;
``model/`` in a single-model store), ``tokenizer/`` (shared by the members) and
``classifier.json`` (labels, members, temperature, token window, emergency threshold).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

from triage.config import Settings, get_settings
from triage.device import pick_device
from triage.text_classifier import MODEL_NAME, NORMAL_LABEL
from triage.text_classifier.schemas import TextPrediction
from triage.text_validation import validate_texts

CLASSIFIER_JSON = "classifier.json"


class TextClassifierModel:
    """A stored text classifier, ready to classify batches."""

    def __init__(self, path: Path | str, device: str | None = None, settings: Settings | None = None) -> None:
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
        full_lengths = [len(ids) for ids in self.tokenizer(cleaned, add_special_tokens=True)["input_ids"]]
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
        return [self._prediction(row, cut) for row, cut in zip(probs, truncated, strict=True)]

    def _prediction(self, row: list[float], truncated: bool) -> TextPrediction:
        """Category probabilities (fine labels summed), the best category and, where it has
        several fine labels, its most probable subtype with P(subtype | category)."""
        by_category = dict.fromkeys(self.categories, 0.0)
        for label, p in zip(self.labels, row, strict=True):
            by_category[self.category_of[label]] += p
        category = max(by_category, key=by_category.__getitem__)
        fine = {
            label: p for label, p in zip(self.labels, row, strict=True) if self.category_of[label] == category
        }
        subtype = subtype_probability = None
        if len(fine) > 1:
            subtype = max(fine, key=fine.__getitem__)
            subtype_probability = round(fine[subtype] / max(by_category[category], 1e-12), 6)
        emergency = min(1.0, max(0.0, 1.0 - row[self.normal_index]))
        return TextPrediction(
            label=category,
            probabilities={c: round(p, 6) for c, p in by_category.items()},
            subtype=subtype,
            subtype_probability=subtype_probability,
            emergency_probability=round(emergency, 6),
            is_emergency=emergency >= self.threshold,
            truncated=truncated,
        )
