"""Put the security middleware on a BentoML service, in the order their work depends on.

Outermost first: CORS (a browser's preflight carries no key, so it is answered before
authentication), the request ID (every answer, refusals included, carries one), browser
headers, the audit trail (refusals are audited too), request bounds, authentication, then
the per-key rate limit, which needs the key's name. Middleware added after this call (the
in-flight limit) sits inside, so a rate-limited flood never takes an in-flight slot.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.cors import CORSMiddleware

from triage.config import get_settings
from triage.security.audit import AuditTrail
from triage.security.auth import ApiKeyAuth
from triage.security.browser import SecurityHeaders, cors_options
from triage.security.rate_limit import RateLimit
from triage.security.request_bounds import RequestBounds
from triage.security.request_id import RequestId, install_log_request_ids


def install_security(service: Any) -> None:
    """Add every security middleware to ``service`` (a ``@bentoml.service`` class) from settings."""
    settings = get_settings()
    install_log_request_ids()
    if settings.cors_origins:
        service.add_asgi_middleware(CORSMiddleware, **cors_options(settings.cors_origins))
    service.add_asgi_middleware(RequestId)
    service.add_asgi_middleware(SecurityHeaders)
    service.add_asgi_middleware(AuditTrail, path=settings.audit_log, transcripts=settings.audit_transcripts)
    service.add_asgi_middleware(
        RequestBounds, max_header_bytes=settings.max_header_bytes, body_timeout_s=settings.body_timeout_s
    )
    service.add_asgi_middleware(
        ApiKeyAuth,
        keys_file=settings.api_keys_file,
        key_hashes=settings.api_key_hashes,
        enabled=settings.auth,
        metrics_require_key=settings.metrics_require_key,
        public_docs=settings.public_docs,
        failure_rate_per_s=settings.auth_failure_rate_per_s,
        failure_burst=settings.auth_failure_burst,
    )
    service.add_asgi_middleware(
        RateLimit, rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
    )
