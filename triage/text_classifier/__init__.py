"""Korean text classifier (KoBERT architecture): labels, the served model and its schemas.

The store name below is the one name of this model everywhere: this package, the runner
``runners/text_classifier.py`` (service ``text_classifier``), the store entry and
``training/text_classifier/``. Training, the runner, tests and benchmarks load the model
through :class:`triage.text_classifier.model.TextClassifierModel`, so all of them tokenise,
truncate, score and calibrate text the same way.
"""

MODEL_NAME = "text_classifier"

ENCODER_MODEL_NAME = "text_encoder"
"""Store name of the frozen sentence encoder under the category head (``encoder.py``)."""

NORMAL_LABEL = "normal"
"""The one label that is not an emergency; emergency probability = 1 - P(normal)."""
