"""Audio classifier (ResNet on log-mel): shared preprocessing, the network and its schema.

The store name below is the one name of this model everywhere: this package, the runner
``runners/audio_classifier.py`` (service ``audio_classifier``), the store entry and
``training/audio_classifier/``.
"""

MODEL_NAME = "audio_classifier"
