"""Fusion of the text and audio classifiers into one emergency decision.

It runs inside the API service (a few dozen weights), so it has no runner; its store name
is the one below, and ``training/fusion/`` fits it.
"""

MODEL_NAME = "fusion"
