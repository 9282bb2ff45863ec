"""Client errors with a stable code, rendered as JSON 4xx responses.

Every refusal of bad input raises :class:`TriageError`; the service turns it into
``{"error": {"code": ..., "message": ...}}`` with the right status, so callers can
branch on ``code`` while people read ``message``.
"""

from __future__ import annotations

from typing import Any


class TriageError(Exception):
    """A request the server refuses, with an HTTP status and a machine-readable code."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}
