"""OpenAPI request bodies of the upload routes, which read the raw request themselves.

The upload routes take a bare ``Request`` instead of FastAPI ``UploadFile``/``Form``
parameters, so that audio stays in memory (see ``triage.uploads``); FastAPI then has no
parameter to infer a body from, and ``/docs`` would show none. These ``openapi_extra``
values describe what ``triage.uploads.read_audio_uploads`` actually accepts: a
``multipart/form-data`` form with the audio in a binary ``file`` part, or the audio as the
raw body under any of the allowed content types. Clients, Swagger UI and schemathesis read
the form from here, so it must change together with ``triage.uploads``.
"""

from __future__ import annotations

from typing import Any

from triage.config import get_settings

# OpenAPI 3.0 (BentoML serves the spec as 3.0.2): a file is a binary string.
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
AUDIO_FILE: dict[str, Any] = {
    **BINARY,
    "description": "The audio file (WAV, FLAC, OGG, MP3, WebM, ...); decoded to 16 kHz mono in memory.",
}


def _upload_body(form: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route: the multipart form, or the audio as the raw body."""
    raw = {content_type: {"schema": BINARY} for content_type in get_settings().allowed_content_types}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"multipart/form-data": {"schema": form}, **raw},
        }
    }


ONE_CLIP = _upload_body(
    {"type": "object", "properties": {"file": AUDIO_FILE}, "required": ["file"]},
    "One clip: multipart field `file`, or the audio itself as the body.",
)

CLIP_WITH_TRANSCRIPT = _upload_body(
    {
        "type": "object",
        "properties": {
            "file": AUDIO_FILE,
            "transcript": {
                "type": "string",
                "description": "What the caller said, if already known: skips speech-to-text.",
            },
        },
        "required": ["file"],
    },
    "One clip: multipart field `file` (plus an optional `transcript`), or the audio itself as the body.",
)

CLIPS = _upload_body(
    {
        "type": "object",
        "properties": {
            "file": {
                "type": "array",
                "items": AUDIO_FILE,
                "minItems": 1,
                "maxItems": get_settings().max_batch_files,
                "description": "One `file` part per clip.",
            }
        },
        "required": ["file"],
    },
    "Several clips as repeated multipart `file` parts, or one clip as the body.",
)
