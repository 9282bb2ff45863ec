"""Development harness shared by tests, load tests, benchmarks and training scripts.

Never packed into the Bento: it knows where the shared real audio lies beside the
checkout and how to start and stop a real ``bentoml serve`` process.
"""
