"""Whisper speech to text: the two inference engines, 30-s windowing and the output schema.

The store name below is the one name of this model everywhere: this package, the runner
``runners/whisper.py`` (service ``whisper``), the store entry and ``training/whisper/``.
"""

MODEL_NAME = "whisper"
