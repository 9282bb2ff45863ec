"""The audit trail: one JSON line per API request, with no caller audio, words or file names.

A line says who (the key's name), what (endpoint, status, error code), when, how long
(total and per stage) and what was decided (category, probability, agency), plus the
audio's duration: enough to reconstruct and review the service's decisions, nothing that
identifies the caller. The decision is read from the JSON response as it goes out, so
routes need no audit code. Transcripts are added only with ``TRIAGE_AUDIT_TRANSCRIPTS=1``,
masked by :func:`triage.security.masking.mask_personal_data`. Health probes, metrics and
the page's static files are not audited (probes alone would drown the trail).

A live call (``WS /calls``) gets one line when its socket closes: the decision and length
from its ``summary`` event (or from its last ``triage`` event if the caller hung up without
one), its error code if the call was ended by one, and the close code. Never its transcript,
even with ``TRIAGE_AUDIT_TRANSCRIPTS=1``: a call's whole conversation is far more than the
one answer an HTTP request's line may carry.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.security.asgi import HEALTH_PATHS, ASGIApp, Message, Receive, Scope, Send, path_in, state
from triage.security.auth import PAGE_PATHS
from triage.security.masking import mask_personal_data

LOGGER_NAME = "triage.audit"
MAX_PARSED_BODY = 4 << 20
"""Responses larger than this are audited without their decision rather than parsed."""
UNAUDITED = (*HEALTH_PATHS, *PAGE_PATHS, "/metrics")
CALL_EVENTS = ("summary", "triage", "error")
"""Live-call events the trail reads; partials, segments and sounds (words, mostly) are skipped unparsed."""


def audit_logger(path: str) -> logging.Logger:
    """The ``triage.audit`` logger writing bare JSON lines to ``path`` (empty: standard error)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = (
            logging.FileHandler(path, encoding="utf-8", delay=True)
            if path
            else logging.StreamHandler(sys.stderr)
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # not also through BentoML's handlers, in their format
    return logger


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "is_emergency": d.get("is_emergency"),
        "category": d.get("category"),
        "subtype": d.get("subtype"),
        "probability": d.get("emergency_probability"),
        "agency": d.get("agency"),
        "method": d.get("method"),
    }


def _analysis(body: dict[str, Any], transcripts: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(body.get("decision"), dict):
        out["decision"] = _decision(body["decision"])
    if isinstance(body.get("timings_ms"), dict):
        out["timings_ms"] = body["timings_ms"]
    audio = body.get("audio")
    if isinstance(audio, dict) and "duration_s" in audio:
        out["audio_seconds"] = audio["duration_s"]
    if transcripts and isinstance(body.get("corrected_transcript"), str):
        out["transcript"] = mask_personal_data(body["corrected_transcript"])
    return out


def summarize(path: str, body: Any, transcripts: bool) -> dict[str, Any]:
    """What of a response body goes into the trail, by endpoint; never file names."""
    if not isinstance(body, dict):
        return {}
    if isinstance(body.get("error"), dict):
        return {"error": body["error"].get("code")}
    if path == "/analyze":
        return _analysis(body, transcripts)
    if path in {"/predict", "/predict_s3", "/s3predict"}:  # the seeds' routes (triage.seed_routes)
        if isinstance(body.get("analysis"), dict):
            return {"seed_label": body.get("label"), **_analysis(body["analysis"], transcripts)}
        if isinstance(body.get("result"), dict):
            return summarize("/classify/text", body["result"], transcripts)
        return {}
    if path == "/analyze/batch":
        items = [r for r in body.get("results", []) if isinstance(r, dict)]
        return {
            "results": [
                _analysis(r["analysis"], transcripts)
                if r.get("analysis")
                else {"error": (r.get("error") or {}).get("code")}
                for r in items
            ]
        }
    out: dict[str, Any] = {}
    if "duration_s" in body:
        out["audio_seconds"] = body["duration_s"]
    if path == "/classify/audio":
        out["decision"] = {"label": body.get("label"), "probability": body.get("distress_probability")}
    elif path == "/classify/text":
        results = [r for r in body.get("results", []) if isinstance(r, dict)]
        out["decision"] = {
            "is_emergency": body.get("is_emergency"),
            "labels": [r.get("label") for r in results],
        }
        if transcripts:
            out["transcript"] = [mask_personal_data(str(r.get("sentence", ""))) for r in results]
    elif path == "/transcribe" and transcripts and isinstance(body.get("text"), str):
        out["transcript"] = mask_personal_data(body["text"])
    return out


def call_event(text: str) -> dict[str, Any] | None:
    """A live call's text frame as an event when it is one the trail keeps, else None.

    Events are sent as compact JSON with ``type`` first, so the type is read off the frame's
    head and only the few kept events are parsed.
    """
    head = text[:24]
    if not any(f'"type":"{kind}"' in head for kind in CALL_EVENTS):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("type") in CALL_EVENTS else None


def summarize_call(events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A live call's line: its decision and audio length, its error; never its words."""
    out: dict[str, Any] = {}
    summary, latest = events.get("summary"), events.get("triage")
    if summary is not None:
        out["audio_seconds"] = summary.get("duration_s")
        if isinstance(summary.get("decision"), dict):
            out["decision"] = _decision(summary["decision"])
        out["alert_call_time_s"] = summary.get("alert_call_time_s")
        if isinstance(summary.get("timings_ms"), dict):
            out["timings_ms"] = summary["timings_ms"]
    elif latest is not None:  # hung up or cut off before the summary
        out["audio_seconds"] = latest.get("call_time_s")
        out["decision"] = {
            "is_emergency": latest.get("is_emergency"),
            "category": latest.get("category"),
            "subtype": latest.get("subtype"),
            "probability": latest.get("probability"),
            "agency": latest.get("agency"),
        }
    if "error" in events:
        out["error"] = events["error"].get("code")
    return out


class AuditTrail:
    """ASGI middleware writing one audit line when each API request's response has gone out."""

    def __init__(self, app: ASGIApp, path: str = "", transcripts: bool = False) -> None:
        self.app = app
        self.logger = audit_logger(path)
        self.transcripts = transcripts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or path_in(scope["path"], UNAUDITED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": None, "json": False, "size": 0, "close_code": None}
        chunks: list[bytes] = []
        call_events: dict[str, dict[str, Any]] = {}

        async def watch(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                seen["status"] = message["status"]
                content_type = dict(message.get("headers", ())).get(b"content-type", b"")
                seen["json"] = content_type.startswith(b"application/json")
            elif kind in ("http.response.body", "websocket.http.response.body") and seen["json"]:
                seen["size"] += len(message.get("body", b""))
                if seen["size"] <= MAX_PARSED_BODY:
                    chunks.append(message.get("body", b""))
            elif kind == "websocket.accept":
                seen["status"] = 101
            elif kind == "websocket.send" and isinstance(message.get("text"), str):
                event = call_event(message["text"])
                if event is not None:
                    call_events[event["type"]] = event
            elif kind == "websocket.close":
                if seen["status"] is None:
                    seen["status"] = 403
                else:
                    seen["close_code"] = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.write(scope, seen, chunks, time.perf_counter() - started, call_events)

    def write(
        self,
        scope: Scope,
        seen: dict[str, Any],
        chunks: list[bytes],
        seconds: float,
        call_events: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        notes = state(scope)
        record: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": notes.get("request_id"),
            "key": notes.get("caller"),
            "method": scope.get("method", "WEBSOCKET"),
            "endpoint": scope["path"],
            "status": seen["status"] or 500,  # no response at all: the server failed
            "duration_ms": round(seconds * 1000, 1),
        }
        if chunks and seen["size"] <= MAX_PARSED_BODY:
            try:
                body = json.loads(b"".join(chunks))
            except ValueError:
                body = None
            record.update(summarize(scope["path"], body, self.transcripts))
        if seen["close_code"] is not None:
            record["close_code"] = seen["close_code"]
        if call_events:
            record.update(summarize_call(call_events))
        self.logger.info(json.dumps(record, ensure_ascii=False))
