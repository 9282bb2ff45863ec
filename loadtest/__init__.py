"""Locust load tests and the shared harness (payloads, a served graph) the benchmarks reuse."""
