"""Where a request's audio comes from: the request body, or object storage by reference.

A JSON body (``application/json``) names objects (``{"s3_uri": ...}`` for one clip,
``{"s3_uris": [...]}`` for a batch) that :mod:`triage.object_store` reads; any other body is
an upload (multipart or raw audio, :mod:`triage.uploads`). The routes take both the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from triage.errors import TriageError
from triage.object_store import fetch_upload, is_json, read_json
from triage.uploads import AudioUpload, read_audio_uploads, read_one_audio_upload

S3_URI: dict[str, Any] = {
    "type": "string",
    "pattern": "^s3://[^/]+/.+",
    "example": "s3://calls/2026/call.wav",
}
S3_REFERENCE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "s3_uri": {**S3_URI, "description": "An object in a bucket of TRIAGE_S3_ALLOWED_BUCKETS."},
        "transcript": {"type": "string", "description": "What the caller said, if already known."},
    },
    "required": ["s3_uri"],
}
S3_REFERENCES: dict[str, Any] = {
    "type": "object",
    "properties": {"s3_uris": {"type": "array", "items": S3_URI, "minItems": 1}},
    "required": ["s3_uris"],
}


def with_references(upload_body: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of an upload route (``triage.openapi_bodies``) plus the JSON body it also takes."""
    extra = copy.deepcopy(upload_body)
    extra["requestBody"]["content"]["application/json"] = {"schema": schema}
    return extra


@dataclass(frozen=True)
class PendingClip:
    """One clip of a batch, read only when its turn comes so that its failure stays its own."""

    name: str | None
    load: Callable[[], Awaitable[AudioUpload]]


async def read_clip(request: Request) -> tuple[AudioUpload, dict[str, str]]:
    """The request's single clip and its other fields (e.g. ``transcript``)."""
    if is_json(request):
        data = await read_json(request)
        fields = {k: v for k, v in data.items() if k != "s3_uri" and isinstance(v, str)}
        return await fetch_upload(data.get("s3_uri")), fields
    return await read_one_audio_upload(request)


async def read_batch(request: Request) -> list[PendingClip]:
    """Every clip of a batch request: uploaded files, or the objects of ``s3_uris``."""
    if is_json(request):
        uris = (await read_json(request)).get("s3_uris")
        if not isinstance(uris, list) or not uris:
            raise TriageError(422, "invalid_request", 'Send {"s3_uris": ["s3://bucket/key", ...]}.')
        return [PendingClip(str(uri), _fetcher(uri)) for uri in uris]
    uploads, _ = await read_audio_uploads(request)
    return [PendingClip(u.filename, _given(u)) for u in uploads]


def _fetcher(uri: Any) -> Callable[[], Awaitable[AudioUpload]]:
    return lambda: fetch_upload(uri)


def _given(upload: AudioUpload) -> Callable[[], Awaitable[AudioUpload]]:
    async def load() -> AudioUpload:
        return upload

    return load
