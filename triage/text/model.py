"""``TextClassifierModel``: load the stored classifier and classify batches of Korean text.

Training evaluates through this class and the runner serves through it, so the figures
in the model's metadata are those of the code path that answers requests. The store
folder holds ``model/`` (BERT weights + config), ``tokenizer/`` and ``classifier.json``
(labels, temperature, token window, emergency threshold).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

from triage.config import Settings, get_settings
from triage.errors import TriageError
from triage.text.labels import NORMAL_LABEL
from triage.text.schemas import TextPrediction

MODEL_NAME = "text-classifier"
CLASSIFIER_JSON = "classifier.json"


def validate_texts(texts: list[str], settings: Settings | None = None) -> None:
    """Refuse empty or whitespace-only texts (422) and texts over ``max_text_chars`` (413).

    Checked before any model work so a bad sentence fails the request with a clear code
    instead of producing a confident prediction about nothing.
    """
    settings = settings or get_settings()
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TriageError(422, "invalid_text", f"sentences[{index}] is not a string.", index=index)
        if not text.strip():
            raise TriageError(
                422, "empty_text", f"sentences[{index}] is empty or only whitespace.", index=index
            )
        if len(text) > settings.max_text_chars:
            raise TriageError(
                413,
                "text_too_long",
                f"sentences[{index}] has {len(text)} characters; the limit is {settings.max_text_chars}.",
                index=index,
                limit=settings.max_text_chars,
            )


def pick_device() -> str:
    """``cuda`` when a GPU is present, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


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
        self.tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
        self.model = BertForSequenceClassification.from_pretrained(path / "model").to(self.device).eval()

    @classmethod
    def from_store(cls, name: str = MODEL_NAME, **kwargs) -> TextClassifierModel:
        """Load the latest ``name`` from the BentoML model store."""
        from triage.model_store import get_model

        return cls(get_model(name).path, **kwargs)

    @torch.no_grad()
    def logits(self, texts: list[str]) -> tuple[torch.Tensor, list[bool]]:
        """Raw logits [n, labels] and, per text, whether it was cut to the token window."""
        if not texts:
            return torch.zeros(0, len(self.labels)), []
        cleaned = [" ".join(t.split()) for t in texts]
        full_lengths = [len(ids) for ids in self.tokenizer(cleaned, add_special_tokens=True)["input_ids"]]
        batch = self.tokenizer(
            cleaned, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.logits.float().cpu(), [n > self.max_length for n in full_lengths]

    def probabilities(self, texts: list[str]) -> torch.Tensor:
        """Temperature-calibrated probabilities [n, labels] (no validation)."""
        logits, _ = self.logits(texts)
        return torch.softmax(logits / self.temperature, dim=-1)

    def classify(self, texts: list[str]) -> list[TextPrediction]:
        """Validate and classify a batch; one :class:`TextPrediction` per text, in order."""
        validate_texts(texts, self.settings)
        logits, truncated = self.logits(texts)
        probs = torch.softmax(logits / self.temperature, dim=-1).tolist()
        results = []
        for row, cut in zip(probs, truncated, strict=True):
            best = max(range(len(row)), key=row.__getitem__)
            emergency = min(1.0, max(0.0, 1.0 - row[self.normal_index]))
            results.append(
                TextPrediction(
                    label=self.labels[best],
                    probabilities={label: round(p, 6) for label, p in zip(self.labels, row, strict=True)},
                    emergency_probability=round(emergency, 6),
                    is_emergency=emergency >= self.threshold,
                    truncated=cut,
                )
            )
        return results
