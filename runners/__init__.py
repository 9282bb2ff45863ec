"""One BentoML service per model, each an adaptive-batching unit composed by ``service.py``."""
