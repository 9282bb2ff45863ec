"""ASR error corrector (KoBART-style): spans, phonetic candidates, rerank, rewrite, guard.

The store name below is the one name of this model everywhere: this package, the runner
``runners/corrector.py`` (service ``corrector``), the store entry and ``training/corrector/``.
"""

MODEL_NAME = "corrector"
