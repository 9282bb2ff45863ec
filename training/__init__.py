"""Model import and training scripts, one folder per model, and their data files (``data/``)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
"""``training/data``: the data files the trainers expand and read."""
