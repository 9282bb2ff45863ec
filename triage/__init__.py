"""Shared code of the Korean emergency-speech triage server.

Runners (``runners/``) and the composed service (``service.py``) stay thin: schemas,
audio decoding, model-store access and configuration live here so that training,
serving, tests and benchmarks all run the same code path.
"""
