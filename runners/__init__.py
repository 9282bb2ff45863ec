"""One BentoML service per model, each an adaptive-batching unit composed by ``service.py``."""

from triage.security.request_id import install_log_request_ids

# Every runner process imports this package first: its log lines of a request then carry the
# API's X-Request-ID, which arrives with each runner call as OpenTelemetry baggage.
install_log_request_ids()
