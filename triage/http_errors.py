"""Every refusal and failure of the HTTP API as JSON ``{"error": {"code", "message"}}``.

Clients branch on ``code``; people read ``message``. Besides :class:`TriageError` (bad
input), this maps malformed JSON to 422 naming the fields, and a runner that died or
restarts under a request to a 503 with ``Retry-After`` instead of an opaque 500.
"""

from __future__ import annotations

import logging

import aiohttp
from bentoml.exceptions import BentoMLException
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from triage.errors import TriageError

logger = logging.getLogger("triage")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers below on ``app``."""
    app.add_exception_handler(TriageError, _triage_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(aiohttp.ClientError, _runner_gone)
    app.add_exception_handler(ConnectionError, _runner_gone)
    app.add_exception_handler(BentoMLException, _runner_error)
    app.add_exception_handler(HTTPException, _http_error)


async def _triage_error(_: Request, exc: TriageError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    """Wrong JSON gets the same error shape as every other refusal, naming the bad fields."""
    problems = [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
        for e in exc.errors()
    ]
    fields = ", ".join(p["field"] or "body" for p in problems)
    error = TriageError(422, "invalid_request", f"Invalid request body: {fields}.", problems=problems)
    return JSONResponse(error.to_dict(), status_code=422)


HTTP_ERROR_CODES = {400: "unreadable_body", 404: "not_found", 405: "method_not_allowed"}


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    """FastAPI's own refusals (a body that is not JSON, not UTF-8 or nested too deep: 400; a wrong
    method: 405) in the same shape as every other error, instead of ``{"detail": ...}``."""
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    message = "The request body could not be parsed." if exc.status_code == 400 else str(exc.detail)
    error = TriageError(exc.status_code, code, message)
    return JSONResponse(error.to_dict(), status_code=exc.status_code, headers=exc.headers)


def _runner_unavailable(name: str) -> JSONResponse:
    error = TriageError(
        503, "runner_unavailable", f"A model runner is restarting or unreachable ({name}); retry shortly."
    )
    return JSONResponse(error.to_dict(), status_code=503, headers={"Retry-After": "5"})


async def _runner_gone(_: Request, exc: Exception) -> JSONResponse:
    """A runner died or restarts under an in-flight request: a clear 503, not a 500."""
    logger.warning("runner call failed: %s", type(exc).__name__)
    return _runner_unavailable(type(exc).__name__)


async def _runner_error(_: Request, exc: BentoMLException) -> JSONResponse:
    """A runner answered with an error: its 4xx passes through, anything else is a 503."""
    status = int(exc.error_code)
    if 400 <= status < 500:
        error = TriageError(status, "runner_refused", str(exc))
        return JSONResponse(error.to_dict(), status_code=status)
    logger.warning("runner error %s: %s", status, type(exc).__name__)
    return _runner_unavailable(type(exc).__name__)
