"""Who may call the server, how often, and what is written down about each call.

ASGI middleware installed on the ``Triage`` service by :func:`triage.security.install.install`:
CORS, request IDs, request bounds (header size, body timeout), the audit trail, API-key
authentication and per-key rate limits. ``keys`` is also a command line tool
(``python -m triage.security.keys create NAME``). See ``docs/SECURITY.md``.
"""
