"""Fusion of the text and audio classifiers into one emergency decision."""
