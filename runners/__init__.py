"""One BentoML service per model, each an adaptive-batching unit composed by ``service.py``."""

from triage.request_timeout import install as install_request_timeout
from triage.security.request_id import install_log_request_ids

# Every runner process imports this package first: its log lines of a request then carry the
# API's X-Request-ID, which arrives with each runner call as OpenTelemetry baggage.
install_log_request_ids()

# Every BentoML process (the API and each runner) imports this package before serving, so each
# gets a request timeout whose timer does not keep the request in memory until it would fire.
install_request_timeout()
