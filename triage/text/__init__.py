"""Korean text classifier (KoBERT architecture): labels, data, augmentation, tokenizer, model.

Training (``training/train_text_classifier.py``), the runner (``runners/text_classifier.py``),
tests and benchmarks import from here so that every one of them tokenises, truncates, scores
and calibrates text the same way.
"""
