"""One BentoML service per model, each an adaptive-batching unit composed by ``service.py``."""

from triage.config import get_settings
from triage.malloc import limit_arenas
from triage.request_timeout import install as install_request_timeout
from triage.security.request_id import install_log_request_ids

# Every runner process imports this package first: its log lines of a request then carry the
# API's X-Request-ID, which arrives with each runner call as OpenTelemetry baggage.
install_log_request_ids()

# Every BentoML process (the API and each runner) imports this package before serving, so each
# gets a request timeout whose timer does not keep the request in memory until it would fire.
install_request_timeout()

# Every BentoML process serves from thread pools: cap glibc's malloc arenas before those threads
# start allocating, so the heap is not split (and kept at its peak) once per thread.
limit_arenas(get_settings().malloc_arena_max)
